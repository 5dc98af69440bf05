import { DEFAULT_APP_ROLE, DEFAULT_TENANT_COLUMN } from '../tenancy.constants';
import { rowsOf, SqlExecutor } from '../migrations/sql';

/** What the catalog check, the tenant registry check and the start-up check can find wrong. */
export type CatalogFindingCode =
  | 'RLS_NOT_ENABLED'
  | 'RLS_NOT_FORCED'
  | 'NO_POLICY'
  | 'PRIMARY_KEY_NOT_TENANT_LED'
  | 'UNIQUE_WITHOUT_TENANT'
  | 'SHARED_KEY_WRITABLE'
  | 'FOREIGN_KEY_WITHOUT_TENANT'
  | 'VIEW_NOT_SECURITY_INVOKER'
  | 'MATERIALIZED_VIEW_READABLE'
  | 'APP_ROLE_MISSING'
  | 'APP_ROLE_SUPERUSER'
  | 'APP_ROLE_BYPASSRLS'
  | 'APP_ROLE_OWNS_TENANT_TABLE'
  | 'APP_ROLE_TEMPORARY'
  | 'REQUEST_ROLE_FUNCTION_UNUSABLE'
  | 'REQUEST_ROLE_INHERITED'
  | 'TENANT_REGISTRY_MISSING'
  | 'TENANT_REGISTRY_NOT_READABLE'
  | 'TENANT_REGISTRY_NO_POLICY';

/** One problem found by {@link checkTenancyCatalog}. */
export interface CatalogFinding {
  /** Which rule the catalog breaks (stable, for code that filters findings). */
  code: CatalogFindingCode;
  /** `schema.table` (or `schema.view`, or the constraint's table) the finding is about, if any. */
  relation?: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** Options of {@link checkTenancyCatalog}. */
export interface CatalogCheckOptions {
  /** The role the application logs in as. Default: `app_user`. */
  appRole?: string;
  /** The column that marks a tenant table. Default: `tenant_id`. */
  tenantColumn?: string;
  /** Schemas to inspect. Default: every schema except PostgreSQL's own. */
  schemas?: string[];
  /** `schema.table` names to skip (documented exceptions). Default: none. */
  ignore?: string[];
}

interface TableRow {
  oid: number;
  relation: string;
  rls: boolean;
  forced: boolean;
  policies: number;
  nullable: boolean;
  attnum: number;
  owned_by_app: boolean;
}

/**
 * Inspects the PostgreSQL catalog and lists every way the schema could leak across tenants: tenant
 * tables (those with a `tenant_id` column) without ENABLE/FORCE RLS, a policy, or a tenant-led
 * primary key; unique constraints and foreign keys that omit `tenant_id`; views that are not
 * `security_invoker`; materialized views the application role can read (they hold rows copied
 * with their owner's rights, and row-level security cannot apply to them); and an application role that is superuser, has BYPASSRLS, or owns (or can
 * become the owner of) a tenant table, can create temporary tables (they outlive the transaction
 * on a pooled connection), or can become (SET ROLE) a role that is superuser, has BYPASSRLS or can
 * create temporary tables (a request role, see `requestRoleFunction`, or any other membership).
 * Tables whose tenant column is nullable are shared tables: their primary key and unique keys
 * cannot include it, and are findings unless neither the application role nor a role it can
 * become may INSERT or UPDATE any of their columns (column privileges), since a unique violation
 * on a key a tenant chose reveals another tenant's row. An empty result means the catalog passed.
 */
export async function checkTenancyCatalog(
  db: SqlExecutor,
  options: CatalogCheckOptions = {},
): Promise<CatalogFinding[]> {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const column = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;
  const schemas = options.schemas ?? null;
  const ignore = new Set(options.ignore ?? []);
  const findings: CatalogFinding[] = [];

  const roles = rowsOf<{
    name: string;
    rolsuper: boolean;
    rolbypassrls: boolean;
    temporary: boolean;
    database: string;
  }>(
    await db.query(
      `SELECT r.rolname AS name, r.rolsuper, r.rolbypassrls,
              has_database_privilege(r.oid, current_database(), 'TEMPORARY') AS temporary,
              format('%I', current_database()) AS database
         FROM pg_roles a JOIN pg_roles r
           ON r.oid = a.oid OR (NOT a.rolsuper AND pg_has_role(a.oid, r.oid, 'MEMBER'))
        WHERE a.rolname = $1
        ORDER BY r.rolname <> $1, r.rolname`,
      [appRole],
    ),
  );
  if (!roles.length) {
    findings.push({
      code: 'APP_ROLE_MISSING',
      message: `the application role "${appRole}" does not exist; create it (LOGIN NOSUPERUSER NOBYPASSRLS)`,
    });
  }
  for (const role of roles) {
    const who =
      role.name === appRole
        ? `the application role "${appRole}"`
        : `the application role "${appRole}" can become "${role.name}" (SET ROLE), which`;
    const fix =
      role.name === appRole
        ? `ALTER ROLE ${appRole}`
        : `REVOKE ${role.name} FROM ${appRole}, or ALTER ROLE ${role.name}`;
    if (role.rolsuper) {
      findings.push({
        code: 'APP_ROLE_SUPERUSER',
        message: `${who} is a superuser and bypasses every policy; ${fix} NOSUPERUSER`,
      });
    }
    if (role.rolbypassrls) {
      findings.push({
        code: 'APP_ROLE_BYPASSRLS',
        message: `${who} has BYPASSRLS; ${fix} NOBYPASSRLS`,
      });
    }
    if (role.temporary && !role.rolsuper) {
      findings.push({
        code: 'APP_ROLE_TEMPORARY',
        message: `${who} can create temporary tables in database ${role.database}, and a temporary table outlives the transaction on a pooled connection, carrying one request's rows to the next; as the database owner, REVOKE TEMPORARY ON DATABASE ${role.database} FROM PUBLIC, ${role.name} (ensureAppRole() does) and grant it only to roles that need it`,
      });
    }
  }

  const tables = rowsOf<TableRow>(
    await db.query(
      `SELECT c.oid::int AS oid, format('%s.%s', n.nspname, c.relname) AS relation,
              c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
              NOT a.attnotnull AS nullable, a.attnum::int AS attnum,
              (r.oid IS NOT NULL AND (c.relowner = r.oid OR (NOT r.rolsuper AND pg_has_role(r.oid, c.relowner, 'MEMBER')))) AS owned_by_app
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped
         LEFT JOIN pg_roles r ON r.rolname = $2
        WHERE c.relkind IN ('r', 'p')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND ($3::text[] IS NULL OR n.nspname = ANY($3::text[]))
        ORDER BY 2`,
      [column, appRole, schemas],
    ),
  ).filter((t) => !ignore.has(t.relation));

  for (const t of tables) {
    if (!t.rls) {
      findings.push({
        code: 'RLS_NOT_ENABLED',
        relation: t.relation,
        message: `${t.relation} has ${column} but row-level security is not enabled; use enableTenantRls() or ALTER TABLE ${t.relation} ENABLE ROW LEVEL SECURITY`,
      });
    }
    if (!t.forced) {
      findings.push({
        code: 'RLS_NOT_FORCED',
        relation: t.relation,
        message: `${t.relation} does not FORCE row-level security, so its owner bypasses it; ALTER TABLE ${t.relation} FORCE ROW LEVEL SECURITY`,
      });
    }
    if (t.policies === 0) {
      findings.push({
        code: 'NO_POLICY',
        relation: t.relation,
        message: `${t.relation} has no policy; add the tenant guard with enableTenantRls()`,
      });
    }
    if (t.owned_by_app) {
      findings.push({
        code: 'APP_ROLE_OWNS_TENANT_TABLE',
        relation: t.relation,
        message: `the application role "${appRole}" owns (or can become the owner of) ${t.relation}; ALTER TABLE ${t.relation} OWNER TO <owner role> and revoke the membership`,
      });
    }
  }

  const oids = tables.map((t) => t.oid);
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const constraints = rowsOf<{
    oid: number;
    name: string;
    type: string;
    keys: number[];
    lead: number;
    columns: string;
    writer: string | null;
  }>(
    await db.query(
      `SELECT k.*,
              (SELECT string_agg(coalesce(a.attname::text, '(expression)'), ', ' ORDER BY n)
                 FROM unnest(k.keys) WITH ORDINALITY AS u(attnum, n)
                 LEFT JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = u.attnum) AS columns,
              (SELECT r.name FROM unnest($2::text[]) WITH ORDINALITY AS r(name, n)
                WHERE EXISTS (SELECT 1 FROM unnest(k.keys) AS u(attnum)
                                LEFT JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = u.attnum
                               WHERE CASE WHEN a.attgenerated IS DISTINCT FROM ''
                                          THEN has_any_column_privilege(r.name, k.oid::oid, 'INSERT, UPDATE')
                                          ELSE has_column_privilege(r.name, k.oid::oid, a.attnum, 'INSERT, UPDATE')
                                     END)
                ORDER BY r.n LIMIT 1) AS writer
         FROM (SELECT x.conrelid::int AS oid, x.conname AS name, x.contype::text AS type,
                      x.conkey::int[] AS keys, x.conkey[1]::int AS lead
                 FROM pg_constraint x WHERE x.conrelid = ANY($1::oid[]) AND x.contype IN ('p', 'u', 'f')
               UNION ALL
               SELECT i.indrelid::int, ci.relname, 'i', i.indkey::int2[]::int[], i.indkey[0]::int
                 FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND NOT i.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)) k`,
      [oids, roles.filter((r) => !r.rolsuper).map((r) => r.name)],
    ),
  );
  for (const t of tables) {
    const own = constraints.filter((c) => c.oid === t.oid);
    const pk = own.find((c) => c.type === 'p');
    if (!t.nullable && (!pk || pk.lead !== t.attnum)) {
      findings.push({
        code: 'PRIMARY_KEY_NOT_TENANT_LED',
        relation: t.relation,
        message: pk
          ? `${t.relation}: primary key ${pk.name} does not start with ${column}; use PRIMARY KEY (${column}, id)`
          : `${t.relation} has no primary key; use PRIMARY KEY (${column}, id)`,
      });
    }
  }
  for (const c of constraints) {
    const t = byOid.get(c.oid)!;
    if (c.keys.includes(t.attnum)) continue;
    if (c.type !== 'f' && t.nullable) {
      if (c.writer === null) continue;
      const key =
        c.type === 'p' ? 'primary key' : c.type === 'u' ? 'unique constraint' : 'unique index';
      const who = c.writer === appRole ? `"${appRole}"` : `"${appRole}", as "${c.writer}",`;
      findings.push({
        code: 'SHARED_KEY_WRITABLE',
        relation: t.relation,
        message: `${t.relation} is shared (${column} may be NULL), and the application role ${who} may choose its ${key} ${c.name} (${c.columns}) in an INSERT or UPDATE: a unique violation then tells a tenant that another tenant's row holds that value; let the database fill the key (a default) and grant INSERT and UPDATE only on the other columns (enableSharedRls() does; restrictSharedKeyWrites() for an existing table)`,
      });
    } else if (c.type === 'f') {
      findings.push({
        code: 'FOREIGN_KEY_WITHOUT_TENANT',
        relation: t.relation,
        message: `${t.relation}: foreign key ${c.name} does not include ${column}, so it can point at another tenant's row; use FOREIGN KEY (${column}, ...) REFERENCES parent (${column}, ...)`,
      });
    } else if (c.type !== 'p') {
      findings.push({
        code: 'UNIQUE_WITHOUT_TENANT',
        relation: t.relation,
        message: `${t.relation}: unique ${c.type === 'u' ? 'constraint' : 'index'} ${c.name} does not include ${column}, so a conflict reveals another tenant's data; make it UNIQUE (${column}, ...)`,
      });
    }
  }

  const views = await relations(
    db,
    'v',
    `NOT coalesce('security_invoker=true' = ANY(c.reloptions) OR 'security_invoker=on' = ANY(c.reloptions), false)`,
    [schemas],
  );
  for (const relation of views.filter((v) => !ignore.has(v))) {
    findings.push({
      code: 'VIEW_NOT_SECURITY_INVOKER',
      relation,
      message: `view ${relation} runs with its owner's rights and can bypass row-level security; ALTER VIEW ${relation} SET (security_invoker = true)`,
    });
  }

  const readable = await relations(
    db,
    'm',
    `CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2)
          THEN has_table_privilege($2, c.oid, 'SELECT') ELSE false END`,
    [schemas, appRole],
  );
  for (const relation of readable.filter((m) => !ignore.has(m))) {
    findings.push({
      code: 'MATERIALIZED_VIEW_READABLE',
      relation,
      message: `materialized view ${relation} is readable by ${appRole}, and row-level security cannot apply to it: it shows every tenant's rows it was built from; REVOKE SELECT ON ${relation} FROM ${appRole} (read it through a security_invoker view or function that filters by tenant)`,
    });
  }
  return findings;
}

/**
 * `schema.name` of the relations of one kind (`v` view, `m` materialized view) in the inspected
 * schemas (`$1`, null for all) for which `condition` holds; `values` are its parameters from `$1`.
 */
async function relations(
  db: SqlExecutor,
  kind: 'v' | 'm',
  condition: string,
  values: unknown[],
): Promise<string[]> {
  const rows = rowsOf<{ relation: string }>(
    await db.query(
      `SELECT format('%s.%s', n.nspname, c.relname) AS relation
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = '${kind}'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
          AND ($1::text[] IS NULL OR n.nspname = ANY($1::text[]))
          AND ${condition}
        ORDER BY 1`,
      values,
    ),
  );
  return rows.map((r) => r.relation);
}

/** Formats findings one per line, for logs and the command line. */
export function formatCatalogFindings(findings: CatalogFinding[]): string {
  if (!findings.length) return 'tenancy catalog check: passed';
  return [
    `tenancy catalog check: ${findings.length} finding(s)`,
    ...findings.map((f) => `  [${f.code}] ${f.message}`),
  ].join('\n');
}
