import { Module, Provider } from '@nestjs/common';
import { AuditLogService } from './audit/audit-log.service';
import { tenancyJwtStrategyProvider } from './auth/tenancy-jwt.strategy';
import { TenantAuthGuard } from './auth/tenant-auth.guard';
import { TenantRolesGuard } from './auth/tenant-roles.guard';
import { TenantStatusService } from './auth/tenant-status.service';
import { TenancyStartupCheck } from './catalog/tenancy-startup.check';
import { TenantContextService } from './context/tenant-context.service';
import { TenantRunner } from './context/tenant-runner.service';
import { TenancyExceptionFilter } from './http/tenancy-exception.filter';
import { TenantTransactionInterceptor } from './http/tenant-transaction.interceptor';
import { ConfigurableModuleClass, TENANCY_MODULE_OPTIONS } from './tenancy.module-definition';
import { RESOLVED_TENANCY_OPTIONS } from './tenancy.providers';
import { TENANCY_JWT_STRATEGY } from './tenancy.internal-constants';
import { resolveTenancyOptions } from './tenancy-options.resolve';
import { TenancyModuleOptions } from './tenancy.options';
import { TenantTransactionFactory } from './typeorm/tenant-transaction.factory';

const resolvedOptions: Provider = {
  provide: RESOLVED_TENANCY_OPTIONS,
  useFactory: (options: TenancyModuleOptions) => resolveTenancyOptions(options),
  inject: [TENANCY_MODULE_OPTIONS],
};

const exported = [
  RESOLVED_TENANCY_OPTIONS,
  TenantTransactionFactory,
  TenantContextService,
  TenantRunner,
  TenantStatusService,
  TENANCY_JWT_STRATEGY,
  TenantAuthGuard,
  TenantRolesGuard,
  TenantTransactionInterceptor,
  TenancyExceptionFilter,
  AuditLogService,
];

/**
 * Pool-model multi-tenancy on PostgreSQL RLS. `TenancyModule.forRoot({ jwt, roles, ... })` (or
 * `forRootAsync`) after `TypeOrmModule.forRootAsync({ ..., dataSourceFactory: createTenancyDataSource })`; then decorate controllers with @TenantScoped().
 * Global: register it once, in the root module.
 */
@Module({
  providers: [
    resolvedOptions,
    TenantTransactionFactory,
    TenantContextService,
    TenantRunner,
    TenantStatusService,
    tenancyJwtStrategyProvider,
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
