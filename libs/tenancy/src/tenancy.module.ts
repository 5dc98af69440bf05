import { Module, Provider } from '@nestjs/common';
import { AuditLogService } from './audit/audit-log.service';
import { TenancyJwtStrategy } from './auth/tenancy-jwt.strategy';
import { TenantAuthGuard } from './auth/tenant-auth.guard';
import { TenantRolesGuard } from './auth/tenant-roles.guard';
import { TenantStatusService } from './auth/tenant-status.service';
import { TenancyStartupCheck } from './catalog/tenancy-startup.check';
import { TenantContextService } from './context/tenant-context.service';
import { TenancyExceptionFilter } from './http/tenancy-exception.filter';
import { TenantTransactionInterceptor } from './http/tenant-transaction.interceptor';
import { ConfigurableModuleClass, TENANCY_MODULE_OPTIONS } from './tenancy.module-definition';
import { RESOLVED_TENANCY_OPTIONS } from './tenancy.providers';
import { TenancyRuntime } from './tenancy.runtime';
import { resolveTenancyOptions } from './tenancy-options.resolve';
import { TenancyModuleOptions } from './tenancy-options.interface';

const resolvedOptions: Provider = {
  provide: RESOLVED_TENANCY_OPTIONS,
  useFactory: (options: TenancyModuleOptions) => resolveTenancyOptions(options),
  inject: [TENANCY_MODULE_OPTIONS],
};

const exported = [
  RESOLVED_TENANCY_OPTIONS,
  TenancyRuntime,
  TenantContextService,
  TenantStatusService,
  TenancyJwtStrategy,
  TenantAuthGuard,
  TenantRolesGuard,
  TenantTransactionInterceptor,
  TenancyExceptionFilter,
  AuditLogService,
];

/**
 * Pool-model multi-tenancy on PostgreSQL RLS. `TenancyModule.forRoot({ jwt, roles, ... })` (or
 * `forRootAsync`) after `TypeOrmModule.forRoot()`; then decorate controllers with @TenantScoped().
 * Global: register it once, in the root module.
 */
@Module({
  providers: [
    resolvedOptions,
    TenancyRuntime,
    TenantContextService,
    TenantStatusService,
    TenancyJwtStrategy,
    TenantAuthGuard,
    TenantRolesGuard,
    TenantTransactionInterceptor,
    TenancyExceptionFilter,
    TenancyStartupCheck,
    AuditLogService,
  ],
  exports: exported,
})
export class TenancyModule extends ConfigurableModuleClass {}
