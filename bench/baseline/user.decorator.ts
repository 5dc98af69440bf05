import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { BaselineUser } from './baseline-auth.guard';

/** The authenticated caller of a baseline route. */
export const User = createParamDecorator(
  (_: unknown, context: ExecutionContext): BaselineUser =>
    context.switchToHttp().getRequest<{ user: BaselineUser }>().user,
);
