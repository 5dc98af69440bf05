import {
  DEFAULT_APP_ROLE,
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
} from '../tenancy.constants';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { currentTenantExpression } from './setting-expression';
import { QualifiedTable, qualifiedTable, quoteIdent, rowsOf, SqlExecutor } from './sql';

/** DML privileges a helper may grant to the application role. */
export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** Options shared by the RLS migration helpers. */
export interface RlsTableOptions {
  /** Role the application logs in as; it gets the grants. Default: `app_user`. */
  appRole?: string;
  /** Column holding the tenant id. Default: `tenant_id`. */
  tenantColumn?: string;
  /** Setting that holds the current tenant. Default: `app.tenant_id`. */
  tenantSetting?: string;
  /** Privileges granted to the application role. Default: SELECT, INSERT, UPDATE, DELETE. */
  privileges?: TablePrivilege[];
}

/** Options of {@link enableTenantRls}. */
export interface TenantTableOptions extends RlsTableOptions {
  /**
   * Also create the PERMISSIVE `tenant_allow` policy (`USING (true)`), so that every row of the
   * tenant is allowed. Pass `false` when the table gets its own role policies instead: the
   * RESTRICTIVE guard still bounds them to the tenant. Default: `true`.
   */
  allowAllWithinTenant?: boolean;
}

/** Options of {@link enableSharedRls}. */
export interface SharedTableOptions extends RlsTableOptions {
  /**
   * Whether tenants may own rows next to the shared ones (`tenant_id` set): they read shared rows
   * and read/write their own. With `false` the table is read-only reference data. Default: `true`.
   */
  tenantRows?: boolean;
  /**
   * Role allowed to write the shared rows (`tenant_id IS NULL`). FORCE applies policies to the
   * owner too, so the write guards admit shared rows only when `current_user` is this role.
   * Default: the role running the migration (`current_user`), i.e. the owner.
   */
  sharedWriterRole?: string;
}

function resolve(options: RlsTableOptions) {
  return {
    appRole: quoteIdent(options.appRole ?? DEFAULT_APP_ROLE),
    column: quoteIdent(options.tenantColumn ?? DEFAULT_TENANT_COLUMN),
    columnName: options.tenantColumn ?? DEFAULT_TENANT_COLUMN,
    current: currentTenantExpression(options.tenantSetting ?? DEFAULT_SETTING_NAMES.tenantId),
    privileges:
      options.privileges ?? (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as TablePrivilege[]),
  };
}

function indexName(table: string, column: string): string {
  return quoteIdent(`${table}_${column}_idx`.slice(0, 63));
}

async function hasTenantLedIndex(db: SqlExecutor, table: string, column: string): Promise<boolean> {
  const rows = rowsOf(
    await db.query(
      `SELECT 1 FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = $1::regclass AND a.attname = $2`,
      [table, column],
    ),
  );
  return rows.length > 0;
}

async function enforceRls(db: SqlExecutor, t: QualifiedTable): Promise<void> {
  await db.query(`ALTER TABLE ${t.sql} ENABLE ROW LEVEL SECURITY`);
  await db.query(`ALTER TABLE ${t.sql} FORCE ROW LEVEL SECURITY`);
}

async function grantAndIndex(
  db: SqlExecutor,
  t: QualifiedTable,
  o: ReturnType<typeof resolve>,
  privileges: TablePrivilege[],
): Promise<void> {
  await grant(db, t.sql, o.appRole, privileges);
  if (!(await hasTenantLedIndex(db, t.name, o.columnName))) {
    await db.query(`CREATE INDEX ${indexName(t.table, o.columnName)} ON ${t.sql} (${o.column})`);
  }
}

async function removeRls(
  db: SqlExecutor,
  t: QualifiedTable,
  o: ReturnType<typeof resolve>,
  policies: string[],
): Promise<void> {
  await db.query(
    `DROP INDEX IF EXISTS ${quoteIdent(t.schema)}.${indexName(t.table, o.columnName)}`,
  );
  await db.query(`REVOKE ALL ON ${t.sql} FROM ${o.appRole}`);
  for (const policy of policies) await db.query(`DROP POLICY IF EXISTS ${policy} ON ${t.sql}`);
  await db.query(`ALTER TABLE ${t.sql} NO FORCE ROW LEVEL SECURITY`);
  await db.query(`ALTER TABLE ${t.sql} DISABLE ROW LEVEL SECURITY`);
}

async function grant(
  db: SqlExecutor,
  tableSql: string,
  appRole: string,
  privileges: TablePrivilege[],
) {
  const allowed = privileges.filter((p) => ['SELECT', 'INSERT', 'UPDATE', 'DELETE'].includes(p));
  if (allowed.length) await db.query(`GRANT ${allowed.join(', ')} ON ${tableSql} TO ${appRole}`);
}

/**
 * Makes a table tenant-owned: ENABLE and FORCE ROW LEVEL SECURITY, a RESTRICTIVE `tenant_guard`
 * policy (USING and WITH CHECK `tenant_id = current tenant`) that no other policy can widen, a
 * PERMISSIVE `tenant_allow` policy unless disabled, DML grants to the application role, and an
 * index led by the tenant column unless one exists (a `(tenant_id, id)` primary key counts).
 * Call it from a migration's `up()` after the table is created; {@link disableTenantRls} reverses it.
 */
export async function enableTenantRls(
  db: SqlExecutor,
  table: string,
  options: TenantTableOptions = {},
): Promise<void> {
  const t = qualifiedTable(table);
  const o = resolve(options);
  await enforceRls(db, t);
  await db.query(
    `CREATE POLICY tenant_guard ON ${t.sql} AS RESTRICTIVE FOR ALL TO PUBLIC
       USING (${o.column} = ${o.current}) WITH CHECK (${o.column} = ${o.current})`,
  );
  if (options.allowAllWithinTenant !== false) {
    await db.query(
      `CREATE POLICY tenant_allow ON ${t.sql} AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)`,
    );
  }
  await grantAndIndex(db, t, o, o.privileges);
}

/**
 * Reverses {@link enableTenantRls} (for a migration's `down()` when the table itself stays): drops
 * its policies and the `<table>_<column>_idx` index, revokes every privilege of the app role on the
 * table, and turns RLS off. PostgreSQL keeps no record of what existed before: an index of that name
 * or grants the table had before `enableTenantRls` are removed too; re-create them after it.
 */
export async function disableTenantRls(
  db: SqlExecutor,
  table: string,
  options: TenantTableOptions = {},
): Promise<void> {
  await removeRls(db, qualifiedTable(table), resolve(options), ['tenant_allow', 'tenant_guard']);
}

/**
 * Makes a table hold shared reference rows (`tenant_id IS NULL`) that every tenant reads (with a
 * tenant set: no context still means no rows, except for `sharedWriterRole`) and no tenant writes, optionally next to tenant-owned rows that only their tenant reads and writes.
 * RESTRICTIVE policies per command (`shared_read_guard`, `tenant_write_guard_*`), a PERMISSIVE
 * `shared_allow`, ENABLE + FORCE, grants, and a tenant-led index. Only `sharedWriterRole` (the
 * owner, by default) writes shared rows; the application role never does.
 */
export async function enableSharedRls(
  db: SqlExecutor,
  table: string,
  options: SharedTableOptions = {},
): Promise<void> {
  const t = qualifiedTable(table);
  const o = resolve(options);
  const tenantRows = options.tenantRows !== false;
  const own = `${o.column} = ${o.current}`;
  const writer =
    options.sharedWriterRole ??
    rowsOf<{ current_user: string }>(await db.query('SELECT current_user'))[0].current_user;
  const isWriter = `current_user = '${quoteIdent(writer).slice(1, -1)}'`;
  const write = `(${own} OR (${o.column} IS NULL AND ${isWriter}))`;
  await enforceRls(db, t);
  await db.query(
    `CREATE POLICY shared_read_guard ON ${t.sql} AS RESTRICTIVE FOR SELECT TO PUBLIC
       USING ((${o.column} IS NULL AND (${o.current} IS NOT NULL OR ${isWriter}))${tenantRows ? ` OR ${own}` : ''})`,
  );
  await db.query(
    `CREATE POLICY tenant_write_guard_insert ON ${t.sql} AS RESTRICTIVE FOR INSERT TO PUBLIC WITH CHECK ${write}`,
  );
  await db.query(
    `CREATE POLICY tenant_write_guard_update ON ${t.sql} AS RESTRICTIVE FOR UPDATE TO PUBLIC
       USING ${write} WITH CHECK ${write}`,
  );
  await db.query(
    `CREATE POLICY tenant_write_guard_delete ON ${t.sql} AS RESTRICTIVE FOR DELETE TO PUBLIC USING ${write}`,
  );
  await db.query(
    `CREATE POLICY shared_allow ON ${t.sql} AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)`,
  );
  await grantAndIndex(db, t, o, tenantRows ? o.privileges : ['SELECT']);
}

/** Reverses {@link enableSharedRls}, removing as {@link disableTenantRls} does (same caveats). */
export async function disableSharedRls(
  db: SqlExecutor,
  table: string,
  options: SharedTableOptions = {},
): Promise<void> {
  await removeRls(db, qualifiedTable(table), resolve(options), [
    'shared_allow',
    'tenant_write_guard_delete',
    'tenant_write_guard_update',
    'tenant_write_guard_insert',
    'shared_read_guard',
  ]);
}

/**
 * Creates the application role when it is missing: LOGIN, NOSUPERUSER, NOBYPASSRLS, NOCREATEDB,
 * NOCREATEROLE, NOINHERIT, no password (set it out of band). An existing role is left as it is:
 * the catalog check and the start-up refusal report it if it is unsafe.
 */
export async function ensureAppRole(
  db: SqlExecutor,
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  const exists = rowsOf(await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]));
  if (!exists.length) {
    await db.query(
      `CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`,
    );
  }
}

/** Grants USAGE on schemas to the application role (needed before any table grant is usable). */
export async function grantSchemaUsage(
  db: SqlExecutor,
  schemas: string[],
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  for (const s of schemas)
    await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${quoteIdent(role)}`);
}

/** Reverses {@link grantSchemaUsage}. */
export async function revokeSchemaUsage(
  db: SqlExecutor,
  schemas: string[],
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  for (const s of schemas)
    await db.query(`REVOKE ALL ON SCHEMA ${quoteIdent(s)} FROM ${quoteIdent(role)}`);
}

/** Options of {@link ensureRequestRole}. */
export interface RequestRoleOptions {
  /** The role the application logs in as; it becomes a member of the request role. Default: `app_user`. */
  appRole?: string;
  /**
   * Tables (`schema.table`) the request role may use, with the application role's own privileges
   * on each (and USAGE on their schemas): a transaction running as the request role can do what
   * the application could, under the policies written `TO` the request role. Default: none.
   */
  tables?: string[];
}

/**
 * Makes a role that tenant transactions can run as (`requestRoleFunction`): created when missing
 * (NOLOGIN, NOSUPERUSER, NOBYPASSRLS, NOINHERIT; roles are shared by every database of the
 * server, so an existing one is reused), granted to the application role so that it may `SET
 * ROLE` to it — without inheriting it on PostgreSQL 16 and later, so that the policies written `TO`
 * the request role do not also apply to the application role's own transactions (on PostgreSQL 15
 * and older the application role must be NOINHERIT for the same effect: an INHERIT one is refused
 * with a TenancyConfigurationError) — and given the application role's privileges on `tables`.
 */
export async function ensureRequestRole(
  db: SqlExecutor,
  role: string,
  options: RequestRoleOptions = {},
): Promise<void> {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const app = quoteIdent(appRole);
  const target = quoteIdent(role);
  const exists = rowsOf(await db.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]));
  if (!exists.length) {
    await db.query(`CREATE ROLE ${target} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT`);
  }
  const [{ version, inherits }] = rowsOf<{ version: number; inherits: boolean | null }>(
    await db.query(
      `SELECT current_setting('server_version_num')::int AS version,
              (SELECT rolinherit FROM pg_roles WHERE rolname = $1) AS inherits`,
      [appRole],
    ),
  );
  if (version < 160000 && inherits) {
    throw new TenancyConfigurationError(
      `on PostgreSQL 15 and older the application role must be NOINHERIT to use request roles, or every request role's policies also apply to its own transactions: ALTER ROLE ${app} NOINHERIT`,
    );
  }
  await db.query(
    `GRANT ${target} TO ${app}${version >= 160000 ? ' WITH INHERIT FALSE, SET TRUE' : ''}`,
  );
  for (const name of options.tables ?? []) {
    const t = qualifiedTable(name);
    const granted = rowsOf<{ privilege: string }>(
      await db.query(
        `SELECT privilege_type AS privilege FROM information_schema.role_table_grants
          WHERE grantee = $1 AND table_schema = $2 AND table_name = $3
            AND privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
          ORDER BY 1`,
        [appRole, t.schema, t.table],
      ),
    ).map((r) => r.privilege);
    await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(t.schema)} TO ${target}`);
    if (granted.length) await db.query(`GRANT ${granted.join(', ')} ON ${t.sql} TO ${target}`);
  }
}

/**
 * Reverses {@link ensureRequestRole} in this database: revokes the role's privileges on `tables`
 * and their schemas; then, unless another database of the server still grants the role something
 * (roles and memberships are server-wide), revokes the application role's membership and drops
 * the role. Otherwise both are left for that database's own migration.
 */
export async function dropRequestRole(
  db: SqlExecutor,
  role: string,
  options: RequestRoleOptions = {},
): Promise<void> {
  const target = quoteIdent(role);
  const app = quoteIdent(options.appRole ?? DEFAULT_APP_ROLE);
  const schemas = new Set<string>();
  for (const name of options.tables ?? []) {
    const t = qualifiedTable(name);
    schemas.add(t.schema);
    await db.query(`REVOKE ALL ON ${t.sql} FROM ${target}`);
  }
  for (const s of schemas) await db.query(`REVOKE ALL ON SCHEMA ${quoteIdent(s)} FROM ${target}`);
  const elsewhere = rowsOf(
    await db.query(
      `SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
        WHERE d.refclassid = 'pg_authid'::regclass AND r.rolname = $1
          AND d.dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())
        LIMIT 1`,
      [role],
    ),
  );
  if (elsewhere.length) return;
  await db.query(`REVOKE ${target} FROM ${app}`);
  await db.query(`DROP ROLE ${target}`);
}
