import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  checkTenancyCatalog,
  DEFAULT_SETTING_NAMES,
  TENANCY_MODULE_OPTIONS,
  TenancyConfigurationError,
} from '../index';
import type { TenancySettingNames, TenantContext } from '../index';
import { validTenantContext } from '../context/tenant-context.validation';
import { defined } from '../tenancy-options.resolve';
import { IsolationFinding, probeFinding } from './isolation-finding';
import { ProbeConnection } from './probe-connection';
import { probeTenantTable, ProbeTenants } from './tenant-table.probe';
import { tenantTables } from './tenant-tables';
import { TenantIsolationOptions } from './tenant-isolation.options';

/**
 * What the kit checks: a TypeORM DataSource (PostgreSQL, initialized) connected as the
 * application role, or a Nest app (or application context) whose TypeOrmModule connection is.
 */
export type TenantIsolationTarget = DataSource | NestApplicationLike;

/**
 * The part of a Nest application (`INestApplication`, or any application context) the kit uses:
 * `get()` of a provider. Declared here so that the kit's types need nothing of `@nestjs/common`.
 */
export interface NestApplicationLike {
  /** Returns the provider registered under `token` (throws when there is none). */
  get<T = unknown>(token: unknown, options?: { strict?: boolean }): T;
}

/** The TenancyModule options the kit takes its defaults from (as passed to forRoot). */
interface AppTenancyOptions {
  settings?: Partial<TenancySettingNames>;
  requestRoleFunction?: string;
  dataSourceName?: string;
  catalogCheck?: false | { tenantColumn?: string; schemas?: string[]; ignore?: string[] };
}

/**
 * Probes every tenant table (each ordinary or partitioned table of `schemas` that has the tenant
 * column) for cross-tenant access as the connection's own role, and resolves with the findings:
 * none, or only `info` ones, means no leak was found ({@link expectTenantIsolation} fails otherwise).
 *
 * Each table is probed in one transaction that is always rolled back (a savepoint around every
 * step), on one connection of the DataSource's pool, each context written with the library's
 * settings statement; in both directions (B against A, A against B):
 * - reads: B sees no row of another tenant (rows whose tenant column is NULL are shared, and fine),
 *   and a connection without context sees no tenant row;
 * - `UPDATE`/`DELETE ... WHERE tenant = A`, as B and without context, reach no row;
 * - `UPDATE t SET tenant = B` and `DELETE FROM t` without WHERE, as B (again as an unused tenant
 *   id when B's own rows make them fail), leave A's row in place: statements that name no column
 *   meet only the command's own policies, so a loose `FOR UPDATE`/`FOR DELETE` policy shows here;
 * - an INSERT of a copy of A's row (with fresh keys) keeping A's tenant, as B and without context,
 *   and `INSERT ... ON CONFLICT (key) DO UPDATE` with A's key, as B, write nothing of A's;
 * - A cannot move its own row to B (nor, in a shared table, to NULL), and no tenant writes a shared row.
 * A write counts as a leak when it wrote, or failed only on a unique key or foreign key (PostgreSQL
 * checks the policies first); 42501 means refused. With `catalogCheck`, the library's catalog
 * findings (ENABLE or FORCE ROW LEVEL SECURITY missing, keys without the tenant, ...) come first.
 *
 * Limits: the write probes start from one row of each tenant read in its own context, so give both
 * tenants a row in every table and contexts whose role may write them (else `NO_TENANT_DATA` or
 * `PROBE_SKIPPED`); sequences that defaults draw from do advance (PostgreSQL never rolls them back);
 * whole-table statements touch, and lock until the table's transaction ends, every row the context
 * may write, so run the kit against a test database; a policy that depends on other data or roles
 * is probed only as far as the two contexts reach it.
 */
export async function checkTenantIsolation(
  target: TenantIsolationTarget,
  options: TenantIsolationOptions,
): Promise<IsolationFinding[]> {
  const app = isDataSource(target) ? undefined : target;
  const o = { ...new TenantIsolationOptions(), ...(app && appDefaults(app)), ...defined(options) };
  const dataSource = app
    ? app.get<DataSource>(getDataSourceToken(o.dataSourceName), { strict: false })
    : (target as DataSource);
  assertUsable(dataSource);
  const tenants = tenantsOf(o);
  const column = o.tenantColumn!;
  const settings = { ...DEFAULT_SETTING_NAMES, ...o.settings };
  const schemas = o.schemas ?? null;
  const ignore = o.ignore ?? [];

  return ProbeConnection.use(dataSource, settings, o.requestRoleFunction, async (connection) => {
    const [role] = await connection.query(
      `SELECT current_user AS name, r.rolsuper AS superuser, r.rolbypassrls AS bypassrls
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const findings: IsolationFinding[] = [];
    if (o.catalogCheck) {
      const catalog = await checkTenancyCatalog(connection, {
        appRole: role.name as string,
        tenantColumn: column,
        ...(schemas ? { schemas } : {}),
        ignore,
      });
      for (const f of catalog) {
        findings.push({
          code: f.code,
          severity: 'leak',
          ...(f.relation === undefined ? {} : { table: f.relation }),
          message: f.message,
        });
      }
    }
    if (role.superuser || role.bypassrls) {
      findings.push(
        probeFinding(
          'KIT_ROLE_BYPASSES_RLS',
          undefined,
          `the kit connected as "${String(role.name)}", which ${role.superuser ? 'is a superuser' : 'has BYPASSRLS'} and bypasses every policy, so no probe can run; pass the DataSource the app uses, connected as the application role (NOSUPERUSER NOBYPASSRLS), and if the app connects as this role, that is the leak to fix`,
        ),
      );
      return findings;
    }
    const tables = await tenantTables(connection, column, schemas, ignore);
    if (!tables.length) {
      findings.push(
        probeFinding(
          'NO_TENANT_TABLES',
          undefined,
          `no table with a ${column} column in ${schemas ? `schemas ${schemas.join(', ')}` : 'the database'}, so nothing was checked; pass the schemas and tenantColumn your tables use`,
        ),
      );
    }
    for (const table of tables)
      findings.push(...(await probeTenantTable(connection, table, tenants)));
    return findings;
  });
}

/** A DataSource has createQueryRunner; a Nest app context has get. */
function isDataSource(target: TenantIsolationTarget): target is DataSource {
  return typeof (target as Partial<DataSource>).createQueryRunner === 'function';
}

/** The app's TenancyModule options the kit follows, when the app has the module. */
function appDefaults(app: NestApplicationLike): Partial<TenantIsolationOptions> {
  let options: AppTenancyOptions | undefined;
  try {
    options = app.get<AppTenancyOptions>(TENANCY_MODULE_OPTIONS, { strict: false });
  } catch {
    return {};
  }
  const catalog = options?.catalogCheck || undefined;
  return defined({
    settings: options?.settings,
    requestRoleFunction: options?.requestRoleFunction,
    dataSourceName: options?.dataSourceName,
    tenantColumn: catalog?.tenantColumn,
    schemas: catalog?.schemas,
    ignore: catalog?.ignore,
  });
}

/** Refuses a DataSource the kit cannot use. */
function assertUsable(dataSource: DataSource | undefined): void {
  if (!dataSource?.isInitialized) {
    throw new TenancyConfigurationError(
      'checkTenantIsolation() needs an initialized DataSource: await dataSource.initialize() first, or pass a Nest app after app.init()',
    );
  }
  if (dataSource.options.type !== 'postgres') {
    throw new TenancyConfigurationError(
      `checkTenantIsolation() supports PostgreSQL only (type: 'postgres'), got type: '${String(dataSource.options.type)}'`,
    );
  }
}

/** The two contexts, checked and normalised; they must name two different tenants. */
function tenantsOf(options: TenantIsolationOptions): ProbeTenants {
  const check = (side: 'a' | 'b', context: TenantContext | undefined): TenantContext => {
    try {
      return validTenantContext(context as TenantContext);
    } catch (error) {
      throw new TenancyConfigurationError(
        `checkTenantIsolation() option ${side}: ${error instanceof Error ? error.message : String(error)}; pass a TenantContext { tenantId, userId, role } of an existing tenant`,
      );
    }
  };
  const tenants = { a: check('a', options.a), b: check('b', options.b) };
  if (tenants.a.tenantId === tenants.b.tenantId) {
    throw new TenancyConfigurationError(
      'checkTenantIsolation() options a and b name the same tenant; pass contexts of two different tenants',
    );
  }
  return tenants;
}
