import {
  applyDecorators,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { TenantAuthGuard } from '../auth/tenant-auth.guard';
import { TenantRolesGuard } from '../auth/tenant-roles.guard';
import { TenancyExceptionFilter } from '../http/tenancy-exception.filter';
import { TenantTransactionInterceptor } from '../http/tenant-transaction.interceptor';
import { TENANT_SCOPE_METADATA } from '../tenancy.internal-constants';

/**
 * Options of {@link TenantScoped}. On a controller they apply to every handler; a handler overrides
 * them with `@TenantReadOnly()` (applying `@TenantScoped()` to both would run the guards twice).
 */
export interface TenantScopedOptions {
  /**
   * The handler only reads: its transaction is read-only (a write fails with
   * `TenantReadOnlyScopeError`, answered 500) and runs on a read replica when the data source has
   * `replication` configured and the replicas can serve it (the module's `replicas` option).
   * Default: `false`.
   */
  readOnly?: boolean;
}

/**
 * Makes a controller (or one handler) tenant-aware: a verified JWT is required (401/403 before any
 * query), @Roles() is enforced, the handler runs in one transaction carrying the tenant, user and
 * role settings (read-only, and on a replica when there is one, with `{ readOnly: true }`), and
 * library and database errors leave as JSON without stack traces (`TenancyExceptionFilter`); every
 * other error reaches the app's own exception filters. On a broker message handler the token comes
 * from the message's `authorization` header and refusals fail the message (see `TenantRmqServer`
 * in `nestjs-rls-tenancy/microservices`).
 */
export function TenantScoped(options: TenantScopedOptions = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(TENANT_SCOPE_METADATA, { readOnly: options.readOnly === true }),
    UseGuards(TenantAuthGuard, TenantRolesGuard),
    UseInterceptors(TenantTransactionInterceptor),
    UseFilters(TenancyExceptionFilter),
  );
}
