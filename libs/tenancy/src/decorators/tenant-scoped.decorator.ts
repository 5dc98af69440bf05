import { applyDecorators, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { TenantAuthGuard } from '../auth/tenant-auth.guard';
import { TenantRolesGuard } from '../auth/tenant-roles.guard';
import { TenancyExceptionFilter } from '../http/tenancy-exception.filter';
import { TenantTransactionInterceptor } from '../http/tenant-transaction.interceptor';

/**
 * Makes a controller (or one handler) tenant-aware: a verified JWT is required (401/403 before any
 * query), @Roles() is enforced, the handler runs in one transaction carrying the tenant, user and
 * role settings, and library and database errors leave as JSON without stack traces
 * (`TenancyExceptionFilter`); every other error reaches the app's own exception filters. On a
 * broker message handler the token comes from the message's `authorization` header and refusals
 * fail the message (see `TenantRmqServer` in `nestjs-rls-tenancy/microservices`).
 */
export function TenantScoped(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    UseGuards(TenantAuthGuard, TenantRolesGuard),
    UseInterceptors(TenantTransactionInterceptor),
    UseFilters(TenancyExceptionFilter),
  );
}
