import { DEFAULT_TENANT_COLUMN } from '../index';
import type { TenancySettingNames, TenantContext } from '../index';

/**
 * Options of {@link checkTenantIsolation} and {@link expectTenantIsolation}. Given a Nest app, the
 * defaults marked "the app's" come from its TenancyModule options, so the kit writes the context
 * exactly as the app does and probes the tables the app's start-up check inspects.
 */
export class TenantIsolationOptions {
  /**
   * A context of the first tenant. Give it a role that may read and write the tenant's rows (an
   * admin): the write probes start from rows this context can see. Required.
   */
  a!: TenantContext;
  /** A context of a second, different tenant, with a role like `a`'s. Required. */
  b!: TenantContext;
  /**
   * Schemas whose tenant tables are probed.
   * Default: the app's `catalogCheck.schemas`, else every schema except PostgreSQL's own.
   */
  schemas?: string[] = undefined;
  /**
   * The column that marks a tenant table (NULL in it marks a shared row).
   * Default: the app's `catalogCheck.tenantColumn`, else `tenant_id`.
   */
  tenantColumn?: string = DEFAULT_TENANT_COLUMN;
  /**
   * `schema.table` names to leave out, probes and catalog check alike.
   * Default: the app's `catalogCheck.ignore`, else none.
   */
  ignore?: string[] = [];
  /**
   * PostgreSQL setting names the contexts are written to, merged over the library's.
   * Default: the app's `settings`, else `DEFAULT_SETTING_NAMES`.
   */
  settings?: Partial<TenancySettingNames> = {};
  /**
   * The function naming the role each context runs as (TenancyModule's `requestRoleFunction`).
   * Default: the app's, else none (contexts run as the connection's role).
   */
  requestRoleFunction?: string = undefined;
  /**
   * Given a Nest app, the TypeOrmModule connection to probe through.
   * Default: the app's `dataSourceName`, else the default connection.
   */
  dataSourceName?: string = undefined;
  /**
   * Also run the library's catalog check (`checkTenancyCatalog`, with the connection's own role as
   * the application role) and report its findings as leaks. Default: `true`.
   */
  catalogCheck?: boolean = true;
  /**
   * Let {@link expectTenantIsolation} pass when a table could be probed only partly because a
   * tenant has no row in it (`NO_TENANT_DATA`, severity `incomplete`). Default: `false`: seed both
   * tenants in every tenant table, or the check would pass having skipped the write probes.
   */
  allowIncomplete?: boolean = false;
}
