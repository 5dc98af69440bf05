import { SetMetadata } from '@nestjs/common';
import { ROLES_METADATA } from '../tenancy.internal-constants';

/** Restricts a @TenantScoped() handler or controller to these roles; any other role gets 403. */
export const Roles = (...roles: string[]): ClassDecorator & MethodDecorator =>
  SetMetadata(ROLES_METADATA, roles);
