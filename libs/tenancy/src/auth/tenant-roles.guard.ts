import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TenantContextService } from '../context/tenant-context.service';
import { ROLES_METADATA } from '../tenancy.internal-constants';
import { markMessageRefusal } from './message-refusal';

/** Enforces @Roles(...) on the handler (or its class); passes when no roles are declared. */
@Injectable()
export class TenantRolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: TenantContextService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(ROLES_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!roles?.length) return true;
    const { role } = this.context.require();
    if (roles.includes(role)) return true;
    const refusal = new ForbiddenException(`requires role: ${roles.join(' or ')}`);
    if (context.getType() === 'rpc') markMessageRefusal(refusal);
    throw refusal;
  }
}
