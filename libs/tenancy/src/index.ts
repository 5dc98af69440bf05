// The public API of nestjs-rls-tenancy. Anything not exported here is internal.

export { DEFAULT_APP_ROLE, DEFAULT_SETTING_NAMES, DEFAULT_TENANT_COLUMN } from './tenancy.constants';
export type { TenancySettingNames } from './tenancy.constants';

export { TenancyError, TenancyConfigurationError } from './errors/tenancy.error';

export {
  enableTenantRls,
  disableTenantRls,
  enableSharedRls,
  disableSharedRls,
  ensureAppRole,
  grantSchemaUsage,
  revokeSchemaUsage,
} from './migrations/rls.migration-helpers';
export type {
  RlsTableOptions,
  TenantTableOptions,
  SharedTableOptions,
  TablePrivilege,
} from './migrations/rls.migration-helpers';
export {
  settingExpression,
  currentTenantExpression,
  currentUserExpression,
  currentRoleExpression,
} from './migrations/setting-expression';
export type { SqlExecutor } from './migrations/sql';

export { checkTenancyCatalog, formatCatalogFindings } from './catalog/catalog-check';
export type { CatalogFinding, CatalogFindingCode, CatalogCheckOptions } from './catalog/catalog-check';
