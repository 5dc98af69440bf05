import { ValidationError, ValidationPipe } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';

function messages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => `${path}: ${m}`);
    return [...own, ...messages(e.children ?? [], path)];
  });
}

/**
 * Validates a message payload as HTTP bodies are validated (whitelist, unknown fields refused);
 * an invalid one fails as an RpcException that says which fields, so the message is rejected.
 */
export function messagePayloadPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) =>
      new RpcException({
        status: 'error',
        statusCode: 400,
        message: `invalid payload: ${messages(errors).join('; ')}`,
      }),
  });
}
