import {
  BadRequestException,
  INestApplication,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { TenancyExceptionFilter } from '@app/tenancy';

function messages(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) =>
      m.startsWith(`property ${e.property} `)
        ? `${path}: ${m}`
        : m.startsWith(e.property)
          ? `${path}${m.slice(e.property.length)}`
          : `${path}: ${m}`,
    );
    return [...own, ...messages(e.children ?? [], path)];
  });
}

/**
 * The HTTP set-up both demo apps share, on Express or Fastify: strict validation (unknown fields
 * rejected, types transformed, every message naming its field), JSON errors without stack traces
 * for every route, the OpenAPI document at /docs-json and the Swagger UI at /docs (on Fastify, @nestjs/swagger serves
 * it with `@fastify/static`), and shutdown hooks.
 */
export function configureHttpApp(
  app: INestApplication,
  docs: { title: string; description: string },
): void {
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(messages(errors)),
    }),
  );
  app.useGlobalFilters(app.get(TenancyExceptionFilter));
  const config = new DocumentBuilder()
    .setTitle(docs.title)
    .setDescription(docs.description)
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config));
  app.enableShutdownHooks();
}
