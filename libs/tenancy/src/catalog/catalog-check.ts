import { DEFAULT_APP_ROLE, DEFAULT_TENANT_COLUMN } from '../tenancy.constants';
import {
  AUDIT_LOG_TABLE,
  AUDIT_TRAIL_TENANT_COLUMN,
  AUDIT_TRAIL_TRIGGER,
} from '../migrations/audit.migration-helpers';
import { foreignKeyOrder } from '../migrations/citus.migration-helpers';
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
  | 'TENANT_REGISTRY_NO_POLICY'
  | 'CITUS_KEY_WITHOUT_TENANT'
  | 'CITUS_FOREIGN_KEY_NOT_COLOCATED'
  | 'CITUS_FOREIGN_KEY_ACTION'
  | 'CITUS_FOREIGN_KEY_TO_DISTRIBUTED'
  | 'CITUS_FOREIGN_KEY_CYCLE'
  | 'CITUS_TENANT_COLUMN_NULLABLE'
  | 'CITUS_TENANT_COLUMN_TYPE'
  | 'CITUS_NO_REPLICA_IDENTITY'
  | 'CITUS_POLICY_SUBQUERY'
  | 'CITUS_TRIGGER';

/**
 * Extra rules {@link checkTenancyCatalog} can apply on top of its own. `'citus'`: what stops Citus
 * from distributing the tenant tables by the tenant column and replicating the shared tables as
 * reference tables (the `CITUS_*` codes; see {@link planCitusDistribution} for the plan it checks).
 */
export type CatalogCheckProfile = 'citus';

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
  /**
   * Also apply a profile's rules (see {@link CatalogCheckProfile}): `'citus'` adds the `CITUS_*`
   * findings. Default: none (the tenancy rules only).
   */
  profile?: CatalogCheckProfile;
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
 * on a key a tenant chose reveals another tenant's row. With `profile: 'citus'` it also lists what
 * Citus would refuse (see {@link CatalogCheckProfile}). An empty result means the catalog passed.
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
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))) k`,
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
  if (options.profile === 'citus') {
    const citus = await readCitusCatalog(db, column, schemas, ignore);
    findings.push(
      ...(await citusFindings(db, column, citus)).filter((f) => !ignore.has(f.relation!)),
    );
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

/** How Citus would hold each table, as {@link planCitusDistribution} reads it from the catalog. */
export interface CitusDistributionPlan {
  /**
   * Tenant tables (tenant column NOT NULL), each after the tables it references: distributed by
   * the tenant column and colocated, so that one tenant's rows of every table live on one node.
   */
  distributed: string[];
  /**
   * Tables replicated to every node, each after the tables it references: shared tables (tenant
   * column nullable: their `tenant_id IS NULL` rows belong to no shard) and the tables without a
   * tenant column that tenant or shared tables reference (the tenant registry).
   */
  reference: string[];
  /**
   * Tables of `distributed` (in its order) that carry the library's audit trail (trigger
   * `tenancy_audit` running `tenancy.audit_row()`, see `enableAuditTrail`) while
   * `tenancy.audit_log` is distributed in the same plan: each change writes one row of the same
   * tenant into a colocated table, on the shard's own node, which Citus accepts from a trigger.
   * Citus distributes a table with a trigger only while `citus.enable_unsafe_triggers` is on;
   * {@link distributeTenantTables} turns it on for its transaction when it distributes one of them.
   * Empty when no planned table is audited.
   */
  unsafeTriggerTables: string[];
}

/**
 * Reads which tables Citus must distribute by the tenant column and which it must replicate as
 * reference tables, in an order `create_distributed_table`/`create_reference_table` accept
 * (referenced tables first): the lists to give {@link distributeTenantTables}. Uses the options'
 * `tenantColumn`, `schemas` and `ignore` as {@link checkTenancyCatalog} does; tables in other
 * schemas join the plan when a planned table references them. Tables without a tenant column that
 * nothing planned references stay local tables on the coordinator. Check the plan with
 * `checkTenancyCatalog(db, { profile: 'citus' })` before running it.
 */
export async function planCitusDistribution(
  db: SqlExecutor,
  options: CatalogCheckOptions = {},
): Promise<CitusDistributionPlan> {
  const citus = await readCitusCatalog(
    db,
    options.tenantColumn ?? DEFAULT_TENANT_COLUMN,
    options.schemas ?? null,
    new Set(options.ignore ?? []),
  );
  return citus.plan;
}

interface CitusTable {
  oid: number;
  relation: string;
  inspected: boolean;
  /** The tenant column's number, null when the table has none. */
  attnum: number | null;
  nullable: boolean;
  type: string | null;
  /** Whether logical replication can identify its rows (a primary key, an identity index or FULL). */
  identified: boolean;
}

interface CitusTrigger {
  oid: number;
  name: string;
  /**
   * Whether it is the library's audit trail: `tenancy_audit` running `tenancy.audit_row()` with
   * the tenant column as its first argument (the column whose value each entry is written under).
   */
  audit: boolean;
}

interface CitusForeignKey {
  name: string;
  from: number;
  to: number;
  keys: number[];
  refKeys: number[];
  onDelete: string;
  onUpdate: string;
  columns: string;
  refColumns: string;
}

/** The tables, foreign keys and plan the Citus profile works on. */
interface CitusCatalog {
  tables: Map<number, CitusTable>;
  foreignKeys: CitusForeignKey[];
  holding: Map<number, 'distributed' | 'reference'>;
  cyclic: Map<string, string[]>;
  /** The triggers of the planned tables (internal ones and those of partitions left out). */
  triggers: CitusTrigger[];
  /** `tenancy.audit_log`, when it exists. */
  auditLog: CitusTable | undefined;
  plan: CitusDistributionPlan;
}

/** `pg_constraint` action codes as SQL, for the actions Citus refuses on a distribution column. */
const FOREIGN_KEY_ACTIONS: Record<string, string> = {
  n: 'SET NULL',
  d: 'SET DEFAULT',
  c: 'CASCADE',
};

async function readCitusCatalog(
  db: SqlExecutor,
  column: string,
  schemas: string[] | null,
  ignore: Set<string>,
): Promise<CitusCatalog> {
  const rows = rowsOf<CitusTable>(
    await db.query(
      `SELECT c.oid::int AS oid, format('%s.%s', n.nspname, c.relname) AS relation,
              ($2::text[] IS NULL OR n.nspname = ANY ($2::text[])) AS inspected,
              a.attnum::int AS attnum, coalesce(NOT a.attnotnull, false) AS nullable,
              format_type(a.atttypid, a.atttypmod) AS type,
              c.relreplident = 'f'
                OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid
                              AND CASE c.relreplident WHEN 'd' THEN i.indisprimary
                                                      WHEN 'i' THEN i.indisreplident
                                                      ELSE false END) AS identified
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
        ORDER BY 2`,
      [column, schemas],
    ),
  );
  const tables = new Map(rows.map((t) => [t.oid, t]));
  const foreignKeys = rowsOf<CitusForeignKey>(
    await db.query(
      `SELECT k.conname AS name, k.conrelid::int AS "from", k.confrelid::int AS "to",
              k.conkey::int[] AS keys, k.confkey::int[] AS "refKeys",
              k.confdeltype::text AS "onDelete", k.confupdtype::text AS "onUpdate",
              (SELECT string_agg(a.attname, ', ' ORDER BY u.n)
                 FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns,
              (SELECT string_agg(a.attname, ', ' ORDER BY u.n)
                 FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS "refColumns"
         FROM pg_constraint k
        WHERE k.contype = 'f' AND k.conparentid = 0 AND k.conrelid = ANY ($1::oid[])
        ORDER BY k.conname`,
      [[...tables.keys()]],
    ),
  ).filter((fk) => tables.has(fk.to));

  const holding = new Map<number, 'distributed' | 'reference'>();
  const holdingOf = (t: CitusTable) =>
    t.attnum !== null && !t.nullable ? 'distributed' : 'reference';
  for (const t of tables.values()) {
    if (t.inspected && t.attnum !== null && !ignore.has(t.relation))
      holding.set(t.oid, holdingOf(t));
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const fk of foreignKeys) {
      if (!holding.has(fk.from) || holding.has(fk.to)) continue;
      holding.set(fk.to, holdingOf(tables.get(fk.to)!));
      grew = true;
    }
  }

  const cyclic = new Map<string, string[]>();
  const ordered = (kind: 'distributed' | 'reference') => {
    const names = [...holding].filter(([, h]) => h === kind).map(([oid]) => tables.get(oid)!);
    const edges = foreignKeys
      .filter((fk) => holding.get(fk.from) === kind && holding.get(fk.to) === kind)
      .map((fk) => ({ from: tables.get(fk.from)!.relation, to: tables.get(fk.to)!.relation }));
    const order = foreignKeyOrder(names.map((t) => t.relation).sort(), edges);
    for (const relation of order.cyclic) cyclic.set(relation, order.cyclic);
    return [...order.ordered, ...order.cyclic];
  };
  const reference = ordered('reference');
  const distributed = ordered('distributed');

  const triggers = rowsOf<CitusTrigger>(
    await db.query(
      `SELECT t.tgrelid::int AS oid, t.tgname AS name,
              coalesce(${AUDIT_TRAIL_TRIGGER} AND ${AUDIT_TRAIL_TENANT_COLUMN} = $2, false) AS audit
         FROM pg_trigger t
        WHERE t.tgrelid = ANY ($1::oid[]) AND NOT t.tgisinternal AND t.tgparentid = 0
        ORDER BY t.tgname`,
      [[...holding.keys()], column],
    ),
  );
  const auditLog = [...tables.values()].find((t) => t.relation === AUDIT_LOG_TABLE);
  const audited = new Set(
    triggers
      .filter((trigger) => auditTrailAccepted(trigger, holding, auditLog))
      .map((trigger) => tables.get(trigger.oid)!.relation),
  );
  const unsafeTriggerTables = distributed.filter((relation) => audited.has(relation));
  return {
    tables,
    foreignKeys,
    holding,
    cyclic,
    triggers,
    auditLog,
    plan: { distributed, reference, unsafeTriggerTables },
  };
}

/**
 * Whether Citus can run `trigger` once `citus.enable_unsafe_triggers` is on: the library's audit
 * trail on a table distributed by the tenant column, writing into `tenancy.audit_log` distributed
 * in the same plan (colocated: every distributed table of the plan is), so that each entry goes to
 * the shard of the row's own tenant, on the node the trigger runs on.
 */
function auditTrailAccepted(
  trigger: CitusTrigger,
  holding: Map<number, 'distributed' | 'reference'>,
  auditLog: CitusTable | undefined,
): boolean {
  return (
    trigger.audit &&
    holding.get(trigger.oid) === 'distributed' &&
    auditLog !== undefined &&
    holding.get(auditLog.oid) === 'distributed'
  );
}

async function citusFindings(
  db: SqlExecutor,
  column: string,
  citus: CitusCatalog,
): Promise<CatalogFinding[]> {
  const { tables, holding } = citus;
  const findings: CatalogFinding[] = [];
  const add = (code: CatalogFindingCode, relation: string, message: string) =>
    findings.push({ code, relation, message });
  const distributed = [...holding].filter(([, h]) => h === 'distributed').map(([oid]) => oid);
  const planned = [...holding.keys()];

  const keys = rowsOf<{
    oid: number;
    name: string;
    type: string;
    keys: number[];
    operators: string[] | null;
    columns: string;
  }>(
    await db.query(
      `SELECT k.*,
              (SELECT string_agg(coalesce(a.attname::text, '(expression)'), ', ' ORDER BY u.n)
                 FROM unnest(k.keys) WITH ORDINALITY AS u(attnum, n)
                 LEFT JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = u.attnum) AS columns
         FROM (SELECT x.conrelid::int AS oid, x.conname AS name, x.contype::text AS type,
                      x.conkey::int[] AS keys,
                      (SELECT array_agg(o.oprname::text ORDER BY e.n)
                         FROM unnest(x.conexclop) WITH ORDINALITY AS e(op, n)
                         JOIN pg_operator o ON o.oid = e.op) AS operators
                 FROM pg_constraint x
                WHERE x.conrelid = ANY ($1::oid[]) AND x.contype IN ('p', 'u', 'x')
               UNION ALL
               SELECT i.indrelid::int, ci.relname, 'i', i.indkey::int2[]::int[], NULL
                 FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                WHERE i.indrelid = ANY ($1::oid[]) AND i.indisunique
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))) k
        ORDER BY k.name`,
      [distributed],
    ),
  );
  for (const key of keys) {
    const t = tables.get(key.oid)!;
    const at = key.keys.indexOf(t.attnum!);
    if (at >= 0 && (key.type !== 'x' || key.operators?.[at] === '=')) continue;
    const [kind, fix] = (
      {
        p: ['primary key', `PRIMARY KEY (${column}, ...)`],
        u: ['unique constraint', `UNIQUE (${column}, ...)`],
        i: ['unique index', `a unique index on (${column}, ...)`],
        x: ['exclusion constraint', `EXCLUDE (${column} WITH =, ...) (btree_gist gives = to GiST)`],
      } as Record<string, [string, string]>
    )[key.type];
    add(
      'CITUS_KEY_WITHOUT_TENANT',
      t.relation,
      `${t.relation}: ${kind} ${key.name} (${key.columns}) does not include ${column}${key.type === 'x' ? ' WITH =' : ''}, and Citus refuses a distributed table's unique and exclusion keys without the distribution column (each node checks only its own rows); make it ${fix}`,
    );
  }

  for (const fk of citus.foreignKeys) {
    const from = tables.get(fk.from)!;
    const to = tables.get(fk.to)!;
    const fromHolding = holding.get(fk.from);
    const toHolding = holding.get(fk.to);
    const key = `foreign key ${fk.name} (${fk.columns}) REFERENCES ${to.relation} (${fk.refColumns})`;
    if (fromHolding === 'distributed') {
      const at = fk.keys.indexOf(from.attnum!);
      if (toHolding === 'distributed' && (at < 0 || fk.refKeys[at] !== to.attnum)) {
        add(
          'CITUS_FOREIGN_KEY_NOT_COLOCATED',
          from.relation,
          `${from.relation}: ${key} does not pair ${column} with ${to.relation}.${column}, and Citus keeps a foreign key between distributed tables only on the distribution column, at the same position on both sides; use FOREIGN KEY (${column}, ...) REFERENCES ${to.relation} (${column}, ...)`,
        );
      }
      const onDelete = ['n', 'd'].includes(fk.onDelete) ? FOREIGN_KEY_ACTIONS[fk.onDelete] : null;
      const onUpdate = FOREIGN_KEY_ACTIONS[fk.onUpdate] ?? null;
      if (at >= 0 && (onDelete || onUpdate)) {
        const actions = [
          ...(onDelete ? [`ON DELETE ${onDelete}`] : []),
          ...(onUpdate ? [`ON UPDATE ${onUpdate}`] : []),
        ].join(' and ');
        add(
          'CITUS_FOREIGN_KEY_ACTION',
          from.relation,
          `${from.relation}: ${key} includes ${column} and has ${actions}, which Citus refuses on a foreign key with the distribution column (even with a column list, the action could change it); keep ON DELETE NO ACTION, RESTRICT or CASCADE and ON UPDATE NO ACTION or RESTRICT, and clear the other columns in the application (an UPDATE in the transaction that deletes the referenced row)`,
        );
      }
    } else if (toHolding === 'distributed' && !(from.attnum !== null && !from.nullable)) {
      if (from.attnum !== null) {
        add(
          'CITUS_TENANT_COLUMN_NULLABLE',
          from.relation,
          `${from.relation}: ${column} may be NULL, so Citus cannot distribute the table (a distribution column holds no NULL) and must replicate it as a reference table, but its ${key} points at a table distributed by ${column}, which a reference table cannot; if every row has a tenant, ALTER TABLE ${from.relation} ALTER COLUMN ${column} SET NOT NULL (it is then distributed); if it holds shared rows (${column} IS NULL), drop that foreign key`,
        );
      } else {
        add(
          'CITUS_FOREIGN_KEY_TO_DISTRIBUTED',
          from.relation,
          `${from.relation} has no ${column} column, but its ${key} points at a table Citus distributes by ${column}, and Citus accepts a foreign key to a distributed table only from a colocated distributed table; add ${column} NOT NULL to ${from.relation} and to the key (FOREIGN KEY (${column}, ...) REFERENCES ${to.relation} (${column}, ...)), or drop the foreign key`,
        );
      }
    }
  }

  const types = new Map<string, number>();
  for (const oid of distributed) {
    const type = tables.get(oid)!.type!;
    types.set(type, (types.get(type) ?? 0) + 1);
  }
  const [common] = [...types].sort(([a, m], [b, n]) => n - m || a.localeCompare(b))[0] ?? [];
  for (const oid of distributed) {
    const t = tables.get(oid)!;
    if (t.type !== common) {
      add(
        'CITUS_TENANT_COLUMN_TYPE',
        t.relation,
        `${t.relation}: ${column} is ${t.type} while the other tenant tables' is ${common}, and Citus colocates only tables whose distribution columns have the same type; ALTER TABLE ${t.relation} ALTER COLUMN ${column} TYPE ${common}`,
      );
    }
    if (!t.identified) {
      add(
        'CITUS_NO_REPLICA_IDENTITY',
        t.relation,
        `${t.relation} has no primary key (nor replica identity), so Citus cannot move its shards between nodes while it takes writes (the shard rebalancer copies changes by logical replication, which needs one); add PRIMARY KEY (${column}, id)`,
      );
    }
  }

  for (const [relation, cycle] of citus.cyclic) {
    add(
      'CITUS_FOREIGN_KEY_CYCLE',
      relation,
      `${relation} is in a cycle of foreign keys (${cycle.join(', ')}), and Citus distributes one table at a time, each after the tables it references; drop one foreign key of the cycle before distributing and add it back after`,
    );
  }

  const policies = rowsOf<{ oid: number; name: string; reads: string | null }>(
    await db.query(
      `SELECT p.polrelid::int AS oid, p.polname AS name,
              (SELECT string_agg(DISTINCT format('%s.%s', n.nspname, c.relname), ', ')
                 FROM pg_depend d
                 JOIN pg_class c ON c.oid = d.refobjid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> p.polrelid) AS reads
         FROM pg_policy p
        WHERE p.polrelid = ANY ($1::oid[])
          AND (coalesce(p.polqual::text, '') LIKE '%{SUBLINK %'
               OR coalesce(p.polwithcheck::text, '') LIKE '%{SUBLINK %')
        ORDER BY p.polname`,
      [planned],
    ),
  );
  for (const p of policies) {
    const t = tables.get(p.oid)!;
    add(
      'CITUS_POLICY_SUBQUERY',
      t.relation,
      p.reads
        ? `${t.relation}: policy ${p.name} reads ${p.reads} in a sub-select, and Citus refuses sub-selects in the policies of distributed and reference tables (nor may a function the policy calls query a distributed table from a shard); hand the policy what it reads as a transaction setting the application writes, or check that rule in the application and keep the tenant guard in the policy`
        : `${t.relation}: policy ${p.name} has a sub-select, and Citus refuses sub-selects in the policies of distributed and reference tables; read each setting without one, e.g. NULLIF(current_setting('app.tenant_id', true), '')::uuid rather than (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid): current_setting is stable, so an index condition still evaluates it once (the library's policy helpers and current*Expression() write it so with settingForm: 'plain')`,
    );
  }

  for (const trigger of citus.triggers) {
    if (auditTrailAccepted(trigger, holding, citus.auditLog)) continue;
    const t = tables.get(trigger.oid)!;
    add(
      'CITUS_TRIGGER',
      t.relation,
      trigger.audit
        ? auditTrailMessage(t, column, citus)
        : `${t.relation}: trigger ${trigger.name} stops Citus from distributing the table (it refuses triggers on distributed and reference tables unless citus.enable_unsafe_triggers is on, which it warns may cause visibility and deadlock issues); do the trigger's work in the application, or turn that setting on and make the trigger touch only rows of its own tenant in colocated tables`,
    );
  }
  return findings.sort((a, b) =>
    a.relation! < b.relation! ? -1 : a.relation! > b.relation! ? 1 : 0,
  );
}

/**
 * Why the library's audit trail on `t` cannot be distributed as planned: `t` is not distributed
 * (a reference table's trigger runs on every node's copy), or `tenancy.audit_log` is not a
 * distributed table of the plan (and why not).
 */
function auditTrailMessage(t: CitusTable, column: string, citus: CitusCatalog): string {
  const trail = `${t.relation}: trigger tenancy_audit (the library's audit trail) writes each change into ${AUDIT_LOG_TABLE}`;
  if (citus.holding.get(t.oid) !== 'distributed') {
    return `${trail}, but Citus would replicate ${t.relation} as a reference table (${column} ${t.attnum === null ? 'missing' : 'nullable'}), whose trigger runs on the copy of every node and would write into the tenant's shard of ${AUDIT_LOG_TABLE} on other nodes, which Citus refuses from a trigger (nor does it accept triggers on reference tables unless citus.enable_unsafe_triggers is on); take the table out of the audit trail (disableAuditTrail()) and record its changes in the application`;
  }
  const log = citus.auditLog;
  const why =
    log === undefined
      ? 'it does not exist'
      : !log.inspected
        ? 'its schema is not among the checked schemas'
        : log.attnum === null
          ? `it has no ${column} column`
          : citus.holding.get(log.oid) === undefined
            ? 'it is ignored'
            : `Citus would replicate it as a reference table (${column} nullable)`;
  return `${trail}, which is not distributed by ${column} in this plan (${why}), and Citus accepts that trigger (with citus.enable_unsafe_triggers on while distributing) only when each entry goes to a colocated shard of ${AUDIT_LOG_TABLE} on the node the trigger runs on; check the tenancy schema too, so that ${AUDIT_LOG_TABLE} is distributed by ${column} with the other tenant tables`;
}
