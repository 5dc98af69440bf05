import {
  DEFAULT_APP_ROLE,
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
  TenancySettingNames,
} from '../tenancy.constants';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import {
  AuditEntryIds,
  AuditEntryIdsOptions,
  AuditLogOptions,
  AuditTrailOptions,
  createAuditLog,
  disableAuditTrail,
  dropAuditLog,
  enableAuditTrail,
  setAuditEntryIds,
  setAuditLogReaders,
} from './audit.migration-helpers';
import {
  CitusDistributionOptions,
  distributeTenantTables,
  undistributeTenantTables,
} from './citus.migration-helpers';
import {
  disableSharedRls,
  disableTenantRls,
  dropRequestRole,
  enableSharedRls,
  enableTenantRls,
  setTenantGuardForm,
  ensureAppRole,
  ensureRequestRole,
  grantSchemaUsage,
  RequestRoleOptions,
  restrictSharedKeyWrites,
  revokeSchemaUsage,
  RlsTableOptions,
  SharedTableOptions,
  TenantGuardFormOptions,
  TenantTableOptions,
} from './rls.migration-helpers';
import {
  currentRoleExpression,
  currentTenantExpression,
  currentTenantWhenExpression,
  currentUserExpression,
  SettingForm,
} from './setting-expression';
import { quoteIdent, settingLiteral, SqlExecutor } from './sql';
import {
  createTenantRegistry,
  DropTenantRegistryOptions,
  dropTenantRegistry,
  TenantRegistryOptions,
} from './tenant-registry.migration-helpers';

/** Options of {@link tenancyMigrations}: what every migration helper of one database shares. */
export interface TenancyMigrationOptions {
  /** Role the application logs in as: every grant and policy of the helpers names it. Default: `app_user`. */
  appRole?: string;
  /**
   * Role that runs the migrations and owns the tables: the only writer of shared rows
   * (`sharedWriterRole` of {@link enableSharedRls}) and the manager of the tenant registry
   * (`ownerRole` of {@link createTenantRegistry}). Default: the role running each migration
   * (`current_user`).
   */
  ownerRole?: string;
  /** Column holding the tenant id in tenant tables. Default: `tenant_id`. */
  tenantColumn?: string;
  /** Setting names the policies and the audit trigger read. Default: the library's (`app.tenant_id`, ...). */
  settings?: Partial<TenancySettingNames>;
  /**
   * How the policies of the RLS and registry helpers, and the bound expressions, read the
   * settings: `'plain'` (no sub-select) for a schema Citus will distribute, see {@link SettingForm}.
   * The audit log's policies (`createAuditLog`, `setAuditLogReaders`) keep their sub-selects:
   * rewrite its guard with `setTenantGuardForm` and `audit_read` with `ALTER POLICY` for Citus.
   * Default: `'sub-select'`.
   */
  settingForm?: SettingForm;
}

/**
 * The migration helpers with one {@link TenancyMigrationOptions} applied, made by
 * {@link tenancyMigrations}. Each takes the same arguments as the standalone helper of the same
 * name; options passed to a call override the bound ones.
 */
export interface TenancyMigrations {
  /** The bound options, defaults filled in (`ownerRole` stays unset when not given). */
  readonly options: Readonly<
    Required<Omit<TenancyMigrationOptions, 'ownerRole' | 'settings'>> & {
      ownerRole?: string;
      settings: Readonly<TenancySettingNames>;
    }
  >;
  /** {@link ensureAppRole} for the bound `appRole` (or `role`). */
  ensureAppRole(db: SqlExecutor, role?: string): Promise<void>;
  /** {@link grantSchemaUsage} to the bound `appRole` (or `role`). */
  grantSchemaUsage(db: SqlExecutor, schemas: string[], role?: string): Promise<void>;
  /** {@link revokeSchemaUsage} from the bound `appRole` (or `role`). */
  revokeSchemaUsage(db: SqlExecutor, schemas: string[], role?: string): Promise<void>;
  /** {@link createTenantRegistry} with the bound `appRole`, `ownerRole` and tenant setting. */
  createTenantRegistry(db: SqlExecutor, options?: TenantRegistryOptions): Promise<void>;
  /** {@link dropTenantRegistry}. */
  dropTenantRegistry(db: SqlExecutor, options?: DropTenantRegistryOptions): Promise<void>;
  /** {@link enableTenantRls} with the bound `appRole`, `tenantColumn` and tenant setting. */
  enableTenantRls(db: SqlExecutor, table: string, options?: TenantTableOptions): Promise<void>;
  /** {@link disableTenantRls} with the bound `appRole`, `tenantColumn` and tenant setting. */
  disableTenantRls(db: SqlExecutor, table: string, options?: TenantTableOptions): Promise<void>;
  /**
   * {@link setTenantGuardForm} with the bound `tenantColumn` and tenant setting; `form` defaults to
   * the bound `settingForm`.
   */
  setTenantGuardForm(
    db: SqlExecutor,
    table: string,
    form?: SettingForm,
    options?: TenantGuardFormOptions,
  ): Promise<void>;
  /** {@link enableSharedRls} with the bound options; `ownerRole`, when set, is the `sharedWriterRole`. */
  enableSharedRls(db: SqlExecutor, table: string, options?: SharedTableOptions): Promise<void>;
  /** {@link disableSharedRls} with the bound `appRole`, `tenantColumn` and tenant setting. */
  disableSharedRls(db: SqlExecutor, table: string, options?: SharedTableOptions): Promise<void>;
  /** {@link restrictSharedKeyWrites} with the bound `appRole`, `tenantColumn` and tenant setting. */
  restrictSharedKeyWrites(db: SqlExecutor, table: string, options?: RlsTableOptions): Promise<void>;
  /** {@link ensureRequestRole} granted to the bound `appRole`. */
  ensureRequestRole(db: SqlExecutor, role: string, options?: RequestRoleOptions): Promise<void>;
  /** {@link dropRequestRole} revoked from the bound `appRole`. */
  dropRequestRole(db: SqlExecutor, role: string, options?: RequestRoleOptions): Promise<void>;
  /** {@link createAuditLog} with the bound `appRole` and settings. */
  createAuditLog(db: SqlExecutor, options?: AuditLogOptions): Promise<void>;
  /** {@link dropAuditLog}. */
  dropAuditLog(db: SqlExecutor): Promise<void>;
  /** {@link setAuditEntryIds} with the bound `appRole`. */
  setAuditEntryIds(
    db: SqlExecutor,
    ids: AuditEntryIds,
    options?: AuditEntryIdsOptions,
  ): Promise<void>;
  /** {@link setAuditLogReaders} with the bound settings. */
  setAuditLogReaders(
    db: SqlExecutor,
    readerRoles: string[] | undefined,
    settings?: Partial<TenancySettingNames>,
  ): Promise<void>;
  /** {@link enableAuditTrail} with the bound `tenantColumn`. */
  enableAuditTrail(db: SqlExecutor, table: string, options?: AuditTrailOptions): Promise<void>;
  /** {@link disableAuditTrail}. */
  disableAuditTrail(db: SqlExecutor, table: string): Promise<void>;
  /** {@link distributeTenantTables} with the bound `tenantColumn` as the distribution column. */
  distributeTenantTables(db: SqlExecutor, options: CitusDistributionOptions): Promise<boolean>;
  /** {@link undistributeTenantTables} with the bound `tenantColumn`. */
  undistributeTenantTables(db: SqlExecutor, options: CitusDistributionOptions): Promise<boolean>;
  /** {@link currentTenantExpression} of the bound tenant setting, for a policy of your own. */
  currentTenantExpression(): string;
  /** {@link currentUserExpression} of the bound user setting. */
  currentUserExpression(): string;
  /** {@link currentRoleExpression} of the bound role setting. */
  currentRoleExpression(): string;
  /** {@link currentTenantWhenExpression} of the bound tenant setting. */
  currentTenantWhenExpression(condition: string): string;
}

/** `bound` with every option of `call` that is set laid over it. */
function over<T extends object>(bound: T, call: Partial<T> | undefined): T {
  const out: Record<string, unknown> = { ...(bound as Record<string, unknown>) };
  for (const [key, value] of Object.entries(call ?? {})) if (value !== undefined) out[key] = value;
  return out as T;
}

/**
 * Binds the migration helpers to the roles, tenant column and setting names of one database, so
 * that they are written once: `const tenancy = tenancyMigrations({ appRole: 'api' })` in a shared
 * file, then `await tenancy.enableTenantRls(q, 'app.tickets')` in each migration. Options passed
 * to a call override the bound ones; the standalone helpers stay as they are. Throws a
 * TenancyConfigurationError for an unsafe role, column or setting name, or when `ownerRole` and
 * `appRole` are the same role (the application must own nothing).
 */
export function tenancyMigrations(options: TenancyMigrationOptions = {}): TenancyMigrations {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const ownerRole = options.ownerRole;
  const tenantColumn = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;
  const settings = Object.freeze(
    over<TenancySettingNames>({ ...DEFAULT_SETTING_NAMES }, options.settings),
  );
  [appRole, tenantColumn, ...(ownerRole === undefined ? [] : [ownerRole])].forEach(quoteIdent);
  Object.values(settings).forEach(settingLiteral);
  if (ownerRole === appRole) {
    throw new TenancyConfigurationError(
      `ownerRole and appRole are both "${appRole}": the application must log in as a role that owns nothing`,
    );
  }
  const settingForm = options.settingForm ?? 'sub-select';
  if (settingForm !== 'sub-select' && settingForm !== 'plain') {
    throw new TenancyConfigurationError(
      `settingForm must be 'sub-select' or 'plain', got ${JSON.stringify(settingForm)}`,
    );
  }
  const rls = { appRole, tenantColumn, tenantSetting: settings.tenantId, settingForm };
  const shared: SharedTableOptions =
    ownerRole === undefined ? rls : { ...rls, sharedWriterRole: ownerRole };
  const registry: TenantRegistryOptions = {
    appRole,
    ownerRole,
    tenantSetting: settings.tenantId,
    settingForm,
  };
  const withSettings = (call?: Partial<TenancySettingNames>) => over(settings, call);
  return {
    options: Object.freeze({ appRole, ownerRole, tenantColumn, settings, settingForm }),
    ensureAppRole: (db, role = appRole) => ensureAppRole(db, role),
    grantSchemaUsage: (db, schemas, role = appRole) => grantSchemaUsage(db, schemas, role),
    revokeSchemaUsage: (db, schemas, role = appRole) => revokeSchemaUsage(db, schemas, role),
    createTenantRegistry: (db, o) => createTenantRegistry(db, over(registry, o)),
    dropTenantRegistry: (db, o) => dropTenantRegistry(db, o),
    enableTenantRls: (db, table, o) => enableTenantRls(db, table, over(rls, o)),
    disableTenantRls: (db, table, o) => disableTenantRls(db, table, over(rls, o)),
    setTenantGuardForm: (db, table, form = settingForm, o) =>
      setTenantGuardForm(
        db,
        table,
        form,
        over<TenantGuardFormOptions>({ tenantColumn, tenantSetting: settings.tenantId }, o),
      ),
    enableSharedRls: (db, table, o) => enableSharedRls(db, table, over(shared, o)),
    disableSharedRls: (db, table, o) => disableSharedRls(db, table, over(shared, o)),
    restrictSharedKeyWrites: (db, table, o) => restrictSharedKeyWrites(db, table, over(rls, o)),
    ensureRequestRole: (db, role, o) => ensureRequestRole(db, role, over({ appRole }, o)),
    dropRequestRole: (db, role, o) => dropRequestRole(db, role, over({ appRole }, o)),
    createAuditLog: (db, o) =>
      createAuditLog(db, { ...over({ appRole }, o), settings: withSettings(o?.settings) }),
    dropAuditLog: (db) => dropAuditLog(db),
    setAuditEntryIds: (db, ids, o) => setAuditEntryIds(db, ids, over({ appRole }, o)),
    setAuditLogReaders: (db, readerRoles, call) =>
      setAuditLogReaders(db, readerRoles, withSettings(call)),
    enableAuditTrail: (db, table, o) => enableAuditTrail(db, table, over({ tenantColumn }, o)),
    disableAuditTrail: (db, table) => disableAuditTrail(db, table),
    distributeTenantTables: (db, o) =>
      distributeTenantTables(db, over<CitusDistributionOptions>({ tables: [], tenantColumn }, o)),
    undistributeTenantTables: (db, o) =>
      undistributeTenantTables(db, over<CitusDistributionOptions>({ tables: [], tenantColumn }, o)),
    currentTenantExpression: () => currentTenantExpression(settings.tenantId, settingForm),
    currentUserExpression: () => currentUserExpression(settings.userId, settingForm),
    currentRoleExpression: () => currentRoleExpression(settings.role, settingForm),
    currentTenantWhenExpression: (condition) =>
      currentTenantWhenExpression(condition, settings.tenantId, settingForm),
  };
}
