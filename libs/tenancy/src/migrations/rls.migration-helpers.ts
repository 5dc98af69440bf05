import {
  DEFAULT_APP_ROLE,
  DEFAULT_SETTING_NAMES,
  DEFAULT_TENANT_COLUMN,
} from '../tenancy.constants';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { currentTenantExpression, SettingForm } from './setting-expression';
import {
  QualifiedTable,
  qualifiedTable,
  quoteIdent,
  rowsOf,
  SqlExecutor,
  withAppRole,
} from './sql';

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
  /**
   * How the policies read the tenant setting: `'plain'` (no sub-select) for tables Citus will
   * distribute, see {@link SettingForm}. Default: `'sub-select'`.
   */
  settingForm?: SettingForm;
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
  const appRoleName = options.appRole ?? DEFAULT_APP_ROLE;
  return {
    appRoleName,
    appRole: quoteIdent(appRoleName),
    column: quoteIdent(options.tenantColumn ?? DEFAULT_TENANT_COLUMN),
    columnName: options.tenantColumn ?? DEFAULT_TENANT_COLUMN,
    current: currentTenantExpression(
      options.tenantSetting ?? DEFAULT_SETTING_NAMES.tenantId,
      options.settingForm,
    ),
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

/** The privileges that let a role choose a column's value. */
const WRITES: TablePrivilege[] = ['INSERT', 'UPDATE'];

/**
 * The grant of the INSERT and UPDATE among `privileges` on a shared table: table-wide when every
 * unique key (primary key, unique constraint or index) includes the tenant column, otherwise on the
 * columns outside those keys only (`INSERT (a, b), UPDATE (a, b)`), after checking that the database
 * fills every such key column (a default or an identity). A tenant choosing a key shared with other
 * tenants' rows would learn from a unique violation that one of them holds that value; null when
 * there is nothing to grant.
 */
async function sharedWriteGrant(
  db: SqlExecutor,
  t: QualifiedTable,
  tenantColumn: string,
  privileges: TablePrivilege[],
): Promise<string | null> {
  const writes = WRITES.filter((p) => privileges.includes(p));
  if (!writes.length) return null;
  const columns = rowsOf<{ name: string; key: string | null; filled: boolean; generated: boolean }>(
    await db.query(
      `WITH keys AS (
         SELECT ci.relname AS name, i.indkey::int2[] AS columns, i.indexprs IS NOT NULL AS expressions
           FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
          WHERE i.indrelid = $1::regclass AND i.indisunique
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) AND a.attname = $2))
       SELECT format('%I', a.attname) AS name, a.attgenerated <> '' AS generated,
              (a.atthasdef AND a.attgenerated = '') OR a.attidentity <> '' AS filled,
              (SELECT min(k.name) FROM keys k WHERE a.attnum = ANY (k.columns)) AS key
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT 'an expression', false, false, k.name FROM keys k WHERE k.expressions
        ORDER BY 1`,
      [t.name, tenantColumn],
    ),
  );
  const keyed = columns.filter((c) => c.key !== null);
  if (!keyed.length) return writes.join(', ');
  const chosen = keyed.find((c) => !c.filled);
  if (chosen) {
    throw new TenancyConfigurationError(
      `${t.name}: the application role would choose the value of ${chosen.name} in the unique key ${chosen.key}, which omits ${tenantColumn}, so a unique violation would tell a tenant that another tenant's row holds that value; let the database fill it (DEFAULT gen_random_uuid() or an identity), make the key UNIQUE NULLS NOT DISTINCT (${tenantColumn}, ...), or pass tenantRows: false`,
    );
  }
  const others = columns.filter((c) => c.key === null && !c.generated).map((c) => c.name);
  return others.length ? writes.map((p) => `${p} (${others.join(', ')})`).join(', ') : null;
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
  await withAppRole(o.appRoleName, async () => {
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
  });
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
  const o = resolve(options);
  await withAppRole(o.appRoleName, () =>
    removeRls(db, qualifiedTable(table), o, ['tenant_allow', 'tenant_guard']),
  );
}

/** Options of {@link setTenantGuardForm}: what the guard compares, as {@link enableTenantRls} took it. */
export type TenantGuardFormOptions = Pick<RlsTableOptions, 'tenantColumn' | 'tenantSetting'>;

/**
 * Rewrites the `tenant_guard` policy that {@link enableTenantRls} made on a table so that it reads
 * the tenant setting in `form` (see {@link SettingForm}): `'plain'` before Citus distributes the
 * table, `'sub-select'` to go back (a migration's `down()`). `ALTER POLICY`: its name, roles and
 * rule stay, and so do the table's other policies, grants and indexes.
 */
export async function setTenantGuardForm(
  db: SqlExecutor,
  table: string,
  form: SettingForm,
  options: TenantGuardFormOptions = {},
): Promise<void> {
  const t = qualifiedTable(table);
  const o = resolve({ ...options, settingForm: form });
  const guard = `${o.column} = ${o.current}`;
  await db.query(`ALTER POLICY tenant_guard ON ${t.sql} USING (${guard}) WITH CHECK (${guard})`);
}

/**
 * Makes a table hold shared reference rows (`tenant_id IS NULL`) that every tenant reads (with a
 * tenant set: no context still means no rows, except for `sharedWriterRole`) and no tenant writes, optionally next to tenant-owned rows that only their tenant reads and writes.
 * RESTRICTIVE policies per command (`shared_read_guard`, `tenant_write_guard_*`), a PERMISSIVE
 * `shared_allow`, ENABLE + FORCE, grants, and a tenant-led index. Only `sharedWriterRole` (the
 * owner, by default) writes shared rows; the application role never does.
 *
 * A shared table's primary key (and any unique key) cannot include the nullable `tenant_id`, so
 * its values are unique across tenants: a tenant that could choose one would learn from a unique
 * violation (23505) that another tenant's row holds it. So the application role gets INSERT and
 * UPDATE only on the columns outside such keys (column privileges; generated columns left out),
 * and the database fills the keys: each key column needs a default (`DEFAULT gen_random_uuid()`)
 * or an identity, or this throws a TenancyConfigurationError before changing anything. Inserts
 * must then leave the key columns out of their column list (a TypeORM column with `insert: false`);
 * a column added to the table later needs its own `GRANT INSERT (column), UPDATE (column)`.
 * Tables whose unique keys all include `tenant_id` get table-wide grants.
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
  const privileges = tenantRows ? o.privileges : (['SELECT'] as TablePrivilege[]);
  const writes = await sharedWriteGrant(db, t, o.columnName, privileges);
  await withAppRole(o.appRoleName, async () => {
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
    await grantAndIndex(
      db,
      t,
      o,
      privileges.filter((p) => !WRITES.includes(p)),
    );
    if (writes) await db.query(`GRANT ${writes} ON ${t.sql} TO ${o.appRole}`);
  });
}

/**
 * Gives a shared table made by an earlier {@link enableSharedRls} the grants it makes today: revokes
 * the application role's INSERT and UPDATE and grants them back (those in `privileges`) on the
 * columns outside the unique keys that omit `tenant_id`, whose values the database must fill (else
 * a TenancyConfigurationError). Idempotent: on a table `enableSharedRls` set up already, the grants
 * come out the same. Call it from a migration; the application must stop sending the key columns.
 */
export async function restrictSharedKeyWrites(
  db: SqlExecutor,
  table: string,
  options: RlsTableOptions = {},
): Promise<void> {
  const t = qualifiedTable(table);
  const o = resolve(options);
  const writes = await sharedWriteGrant(db, t, o.columnName, o.privileges);
  await withAppRole(o.appRoleName, async () => {
    await db.query(`REVOKE ${WRITES.join(', ')} ON ${t.sql} FROM ${o.appRole}`);
    if (writes) await db.query(`GRANT ${writes} ON ${t.sql} TO ${o.appRole}`);
  });
}

/** Reverses {@link enableSharedRls}, removing as {@link disableTenantRls} does (same caveats). */
export async function disableSharedRls(
  db: SqlExecutor,
  table: string,
  options: SharedTableOptions = {},
): Promise<void> {
  const o = resolve(options);
  await withAppRole(o.appRoleName, () =>
    removeRls(db, qualifiedTable(table), o, [
      'shared_allow',
      'tenant_write_guard_delete',
      'tenant_write_guard_update',
      'tenant_write_guard_insert',
      'shared_read_guard',
    ]),
  );
}

/**
 * Creates the application role when it is missing: LOGIN, NOSUPERUSER, NOBYPASSRLS, NOCREATEDB,
 * NOCREATEROLE, NOINHERIT. An existing role's attributes are left as they are: the catalog check
 * and the start-up refusal report it if it is unsafe.
 *
 * Run it as the owner role, which must own the database and have CREATEROLE (or be a superuser)
 * to create the role: without CREATEROLE it throws a TenancyConfigurationError naming the fix
 * before changing anything. The role is created without a password, so that no secret lands in
 * the migration history; give it one outside migrations, from your secret store
 * (`ALTER ROLE app_user PASSWORD '...'`, or psql's `\password app_user`), or use another
 * authentication method (certificate, IAM).
 *
 * Either way the role is left unable to create temporary tables in the current database: a temporary
 * table lives as long as the connection, so on a pooled connection one tenant's copied rows would
 * outlast the request and be readable by the next. PostgreSQL grants TEMPORARY to PUBLIC, so this
 * revokes it from PUBLIC (and from the role) on the current database; the database owner keeps it
 * through its own ACL entry, and any other role that needs temporary tables must be granted
 * TEMPORARY explicitly. Run it as the database owner (or a superuser): when the role can still
 * create temporary tables afterwards, it throws a TenancyConfigurationError naming the fix.
 */
export async function ensureAppRole(
  db: SqlExecutor,
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  const app = quoteIdent(role);
  const [{ exists, creator, allowed }] = rowsOf<{
    exists: boolean;
    creator: string;
    allowed: boolean;
  }>(
    await db.query(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists,
              current_user AS creator,
              (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS allowed`,
      [role],
    ),
  );
  if (!exists && !allowed) {
    throw new TenancyConfigurationError(
      `the application role "${role}" does not exist and the role running this migration ("${creator}") may not create roles: as a superuser, ALTER ROLE "${creator}" CREATEROLE, or create it yourself: CREATE ROLE ${app} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`,
    );
  }
  if (!exists) {
    await db.query(
      `CREATE ROLE ${app} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`,
    );
  }
  await revokeTemporary(db, role);
}

/** Revokes TEMPORARY on the current database from PUBLIC and `role`; throws if `role` keeps it. */
async function revokeTemporary(db: SqlExecutor, role: string): Promise<void> {
  const [{ database }] = rowsOf<{ database: string }>(
    await db.query(`SELECT format('%I', current_database()) AS database`),
  );
  const revoke = `REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC, ${quoteIdent(role)}`;
  await db.query(revoke);
  const [kept] = rowsOf<{ temporary: boolean }>(
    await db.query(
      `SELECT has_database_privilege(oid, current_database(), 'TEMPORARY') AS temporary
         FROM pg_roles WHERE rolname = $1 AND NOT rolsuper`,
      [role],
    ),
  );
  if (kept?.temporary) {
    throw new TenancyConfigurationError(
      `the application role "${role}" can still create temporary tables in database ${database}; run this as the database owner, or have the owner run ${revoke} (and revoke TEMPORARY from any role "${role}" inherits)`,
    );
  }
}

/** Grants USAGE on schemas to the application role (needed before any table grant is usable). */
export async function grantSchemaUsage(
  db: SqlExecutor,
  schemas: string[],
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  await withAppRole(role, async () => {
    for (const s of schemas)
      await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${quoteIdent(role)}`);
  });
}

/** Reverses {@link grantSchemaUsage}. */
export async function revokeSchemaUsage(
  db: SqlExecutor,
  schemas: string[],
  role: string = DEFAULT_APP_ROLE,
): Promise<void> {
  await withAppRole(role, async () => {
    for (const s of schemas)
      await db.query(`REVOKE ALL ON SCHEMA ${quoteIdent(s)} FROM ${quoteIdent(role)}`);
  });
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
 * with a TenancyConfigurationError) — and given the application role's privileges on `tables`
 * (table-wide and per column, as {@link enableSharedRls} grants them).
 */
export async function ensureRequestRole(
  db: SqlExecutor,
  role: string,
  options: RequestRoleOptions = {},
): Promise<void> {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  await withAppRole(appRole, () => createRequestRole(db, role, appRole, options.tables ?? []));
}

async function createRequestRole(
  db: SqlExecutor,
  role: string,
  appRole: string,
  tables: string[],
): Promise<void> {
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
  for (const name of tables) {
    const t = qualifiedTable(name);
    const [{ granted }] = rowsOf<{ granted: string | null }>(
      await db.query(
        `SELECT string_agg(g.privilege || coalesce(' (' || g.columns || ')', ''), ', '
                           ORDER BY g.columns IS NOT NULL, g.privilege) AS granted
           FROM (SELECT p.privilege_type AS privilege, NULL::text AS columns
                   FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) p
                  WHERE c.oid = $1::regclass AND p.grantee = $2::regrole
                    AND p.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
                 UNION ALL
                 SELECT p.privilege_type, string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
                   FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) p
                  WHERE a.attrelid = $1::regclass AND NOT a.attisdropped AND p.grantee = $2::regrole
                    AND p.privilege_type IN ('SELECT', 'INSERT', 'UPDATE')
                  GROUP BY 1) g`,
        [t.name, app],
      ),
    );
    await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(t.schema)} TO ${target}`);
    if (granted) await db.query(`GRANT ${granted} ON ${t.sql} TO ${target}`);
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
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  await withAppRole(appRole, () => removeRequestRole(db, role, appRole, options.tables ?? []));
}

async function removeRequestRole(
  db: SqlExecutor,
  role: string,
  appRole: string,
  tables: string[],
): Promise<void> {
  const target = quoteIdent(role);
  const app = quoteIdent(appRole);
  const schemas = new Set<string>();
  for (const name of tables) {
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
