// The public API of nestjs-rls-tenancy. Anything not exported here is internal.

export {
  DEFAULT_APP_ROLE,
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
} from './tenancy.constants';

export { TenancyError, TenancyConfigurationError } from './errors/tenancy.error';

export {
  enableTenantRls,
  disableTenantRls,
  setTenantGuardForm,
  enableSharedRls,
  disableSharedRls,
  restrictSharedKeyWrites,
  ensureAppRole,
  grantSchemaUsage,
  revokeSchemaUsage,
  ensureRequestRole,
  dropRequestRole,
} from './migrations/rls.migration-helpers';
export type {
  RlsTableOptions,
  TenantTableOptions,
  TenantGuardFormOptions,
  SharedTableOptions,
  TablePrivilege,
  RequestRoleOptions,
} from './migrations/rls.migration-helpers';
export {
  settingExpression,
  currentTenantExpression,
  currentUserExpression,
  currentRoleExpression,
  currentTenantWhenExpression,
} from './migrations/setting-expression';
export type { SettingForm } from './migrations/setting-expression';
export type { SqlExecutor } from './migrations/sql';
export {
  createAuditLog,
  dropAuditLog,
  enableAuditTrail,
  disableAuditTrail,
  setAuditLogReaders,
  setAuditEntryIds,
} from './migrations/audit.migration-helpers';
export type { AuditLogOptions, AuditTrailOptions } from './migrations/audit.migration-helpers';
export type { AuditEntryIds, AuditEntryIdsOptions } from './migrations/audit.migration-helpers';
export {
  createTenantRegistry,
  dropTenantRegistry,
} from './migrations/tenant-registry.migration-helpers';
export type {
  TenantRegistryOptions,
  DropTenantRegistryOptions,
} from './migrations/tenant-registry.migration-helpers';
export {
  distributeTenantTables,
  undistributeTenantTables,
} from './migrations/citus.migration-helpers';
export type {
  CitusDistributionOptions,
  CitusMigrationLogger,
} from './migrations/citus.migration-helpers';
export { tenancyMigrations } from './migrations/tenancy-migrations.factory';
export type {
  TenancyMigrations,
  TenancyMigrationOptions,
} from './migrations/tenancy-migrations.factory';
export { AuditLogService } from './audit/audit-log.service';
export { UnknownAuditEntryError } from './audit/unknown-audit-entry.error';
export type { AuditEntry, AuditQuery } from './audit/audit-log.service';
export { TenantLifecycle, TenantNotFoundError } from './platform/tenant-lifecycle';
export type { TenantRecord, TenantLifecycleOptions } from './platform/tenant-lifecycle';

export {
  checkTenancyCatalog,
  formatCatalogFindings,
  planCitusDistribution,
} from './catalog/catalog-check';
export type {
  CatalogFinding,
  CatalogFindingCode,
  CatalogCheckOptions,
  CatalogCheckProfile,
  CitusDistributionPlan,
} from './catalog/catalog-check';
export { checkTenantRegistry } from './catalog/tenant-registry.check';
export type { TenantRegistryCheckOptions } from './catalog/tenant-registry.check';

export { TenancyModule } from './tenancy.module';
export { TENANCY_MODULE_OPTIONS } from './tenancy.module-definition';
export type {
  TenancyModuleOptions,
  TenancyModuleExtras,
  TenancyJwtOptions,
  TenancyJwtAlgorithm,
  TenancyClaimNames,
  TenantStatusOptions,
  TenantStatus,
  TenancySettingNames,
  TenancyReplicaOptions,
} from './tenancy.options';

export type { TenantContext } from './context/tenant-context.interface';
export { TenantContextService } from './context/tenant-context.service';
export { TenantRunner } from './context/tenant-runner.service';
export type { TenantScopeRunOptions } from './typeorm/tenant-transaction.factory';
export { TenantStatusService } from './auth/tenant-status.service';
export type { TenantStatusReadOptions } from './auth/tenant-status.service';
export { TenantAuthGuard } from './auth/tenant-auth.guard';
export type { TenantClaims } from './auth/tenant-claims.verify';
export { TenantRolesGuard } from './auth/tenant-roles.guard';
export { TenantTransactionInterceptor } from './http/tenant-transaction.interceptor';
export { TenancyExceptionFilter } from './http/tenancy-exception.filter';
export { TenancyStartupCheck } from './catalog/tenancy-startup.check';

export { TenantScoped } from './decorators/tenant-scoped.decorator';
export type { TenantScopedOptions } from './decorators/tenant-scoped.decorator';
export { TenantReadOnly } from './decorators/tenant-read-only.decorator';
export { Roles } from './decorators/roles.decorator';
export { CurrentTenant } from './decorators/current-tenant.decorator';

export { RlsTransactionSubscriber } from './typeorm/rls-transaction.subscriber';
export { TenancyDataSource, createTenancyDataSource } from './typeorm/tenancy-data-source';
export { TenantQueryRunner } from './typeorm/tenant-query-runner';

export {
  TenantContextMissingError,
  TenantTransactionMissingError,
  TenantTransactionClosedError,
  TenantTransactionOwnershipError,
  TenantTransactionAbortedError,
  TenantConnectionLostError,
  TenantSessionStateError,
  TenantStreamAbandonedError,
  TenantReadOnlyScopeError,
  TenantReplicaUnavailableError,
  UnknownTenantError,
  TenantSuspendedError,
  InvalidTenantContextError,
  UnsafeDatabaseError,
  PlatformNotConfiguredError,
} from './errors/tenancy-errors';

export { explainRowAccess } from './explain/explain-row-access';
export { formatRowAccessExplanation } from './explain/row-access-explanation.format';
export { RowAccessExplainError } from './explain/row-access-explain.error';
export type {
  ExplainRowAccessOptions,
  RowAccessExplanation,
  RowAccessVerdict,
  RowPolicy,
  PolicyEvaluation,
  PolicyCommand,
  ObservedAccess,
  RowSecurityMode,
} from './explain/row-access-explanation.interface';
export { runCli } from './cli/run-cli';
export type { CliIo } from './cli/cli-io';
export { catalogFindingsToSarif } from './cli/catalog-findings.sarif';
export type { SarifLog } from './cli/catalog-findings.sarif';
