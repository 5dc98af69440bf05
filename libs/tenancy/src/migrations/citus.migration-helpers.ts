import { Logger } from '@nestjs/common';
import { DEFAULT_TENANT_COLUMN } from '../tenancy.constants';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { AUDIT_LOG_TABLE, AUDIT_TRAIL_TRIGGER } from './audit.migration-helpers';
import { qualifiedTable, quoteIdent, rowsOf, SqlExecutor } from './sql';

/** Where the Citus helpers write the line that says what they did: Nest's `Logger` fits. */
export interface CitusMigrationLogger {
  /** Receives one line. */
  log(message: string): unknown;
}

/** Options of {@link distributeTenantTables} and {@link undistributeTenantTables}. */
export interface CitusDistributionOptions {
  /**
   * Tenant tables (`schema.table`, tenant column NOT NULL) to distribute by the tenant column,
   * colocated; in any order: the helper puts each after the tables it references.
   */
  tables: string[];
  /**
   * Tables to replicate to every node: shared tables (rows with `tenant_id IS NULL`) and tables
   * without a tenant column that tenant tables reference (the tenant registry). Default: none.
   */
  referenceTables?: string[];
  /**
   * A distributed table (`schema.table`) to colocate every table with. Default: the first table
   * joins Citus's default colocation group for its column type, and the others join it.
   */
  colocateWith?: string;
  /** Column holding the tenant id: the distribution column. Default: `tenant_id`. */
  tenantColumn?: string;
  /** Receives the one line that says what happened. Default: Nest's `Logger` (context `Tenancy`). */
  logger?: CitusMigrationLogger;
}

/** One SQL statement and its bind parameters. */
export interface SqlStatement {
  /** The SQL, with `$1`... for the parameters. */
  sql: string;
  /** The bind parameters. */
  parameters: unknown[];
}

/** A foreign key between two `schema.table` names: `from` references `to`. */
export interface ForeignKeyEdge {
  /** The referencing table. */
  from: string;
  /** The referenced table. */
  to: string;
}

/**
 * Orders tables so that each comes after the tables it references (self-references ignored,
 * edges to tables outside the list ignored), keeping the given order where foreign keys leave it
 * free. Tables caught in a cycle of foreign keys (and those that reference them) cannot be placed:
 * they come back in `cyclic`, in the given order.
 */
export function foreignKeyOrder(
  tables: string[],
  edges: ForeignKeyEdge[],
): { ordered: string[]; cyclic: string[] } {
  const listed = new Set(tables);
  const references = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const { from, to } of edges) {
    if (from !== to && listed.has(from) && listed.has(to)) references.get(from)!.add(to);
  }
  const ordered: string[] = [];
  const placed = new Set<string>();
  let remaining = [...new Set(tables)];
  for (;;) {
    const next = remaining.find((t) => [...references.get(t)!].every((r) => placed.has(r)));
    if (next === undefined) break;
    ordered.push(next);
    placed.add(next);
    remaining = remaining.filter((t) => t !== next);
  }
  return { ordered, cyclic: remaining };
}

/**
 * The statements that make `reference` reference tables and distribute `distributed` by `column`,
 * colocated, in the order given (referenced tables first): `citus.multi_shard_modify_mode` set to
 * `sequential` for the transaction (a distributed table with a foreign key to a reference table
 * must be created so when a transaction has run other Citus commands), one `create_reference_table`
 * per reference table, then one `create_distributed_table` per table, the first colocated with
 * `colocateWith` (or Citus's `'default'` group), the others with `colocateWith` or the first.
 * With `unsafeTriggers`, `citus.enable_unsafe_triggers` is turned on for the transaction between
 * the two (Citus distributes a table with triggers only with it on; the reference tables are
 * created before, so Citus still refuses a trigger on one of them). Table names travel as bind
 * parameters; none when there is nothing to do.
 */
export function distributionStatements(
  reference: string[],
  distributed: string[],
  column: string,
  colocateWith?: string,
  unsafeTriggers = false,
): SqlStatement[] {
  if (!reference.length && !distributed.length) return [];
  return [
    { sql: `SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, parameters: [] },
    ...reference.map((table) => ({
      sql: 'SELECT create_reference_table($1::regclass)',
      parameters: [table],
    })),
    ...(unsafeTriggers && distributed.length
      ? [{ sql: 'SET LOCAL citus.enable_unsafe_triggers TO on', parameters: [] }]
      : []),
    ...distributed.map((table, i) => ({
      sql: 'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
      parameters: [table, column, colocateWith ?? (i === 0 ? 'default' : distributed[0])],
    })),
  ];
}

/** The validated options: `schema.table` names, the column, the logger. */
function resolve(options: CitusDistributionOptions) {
  const name = (table: string) => qualifiedTable(table).name;
  const tables = options.tables.map(name);
  const referenceTables = (options.referenceTables ?? []).map(name);
  const both = tables.filter((t) => referenceTables.includes(t));
  if (both.length) {
    throw new TenancyConfigurationError(
      `${both.join(', ')} cannot be both distributed and a reference table: list each table once, in tables (tenant column NOT NULL) or referenceTables (shared or without a tenant column)`,
    );
  }
  const column = options.tenantColumn ?? DEFAULT_TENANT_COLUMN;
  quoteIdent(column);
  return {
    tables,
    referenceTables,
    column,
    colocateWith: options.colocateWith === undefined ? undefined : name(options.colocateWith),
    logger: options.logger ?? new Logger('Tenancy'),
  };
}

/** Whether the `citus` extension is installed in the database `db` is connected to. */
async function hasCitus(db: SqlExecutor): Promise<boolean> {
  return rowsOf(await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'citus'`)).length > 0;
}

/** The foreign keys among `tables` (self-references left out). */
async function foreignKeysAmong(db: SqlExecutor, tables: string[]): Promise<ForeignKeyEdge[]> {
  return rowsOf<ForeignKeyEdge>(
    await db.query(
      `SELECT DISTINCT format('%s.%s', n.nspname, c.relname) AS "from",
              format('%s.%s', fn.nspname, f.relname) AS "to"
         FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_class f ON f.oid = k.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
        WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
          AND k.conrelid = ANY ($1::text[]::regclass[]) AND k.confrelid = ANY ($1::text[]::regclass[])
        ORDER BY 1, 2`,
      [tables],
    ),
  );
}

/**
 * Those of `tables` that carry the library's audit trail: trigger `tenancy_audit` running
 * `tenancy.audit_row()` (see `enableAuditTrail`).
 */
async function auditedAmong(db: SqlExecutor, tables: string[]): Promise<string[]> {
  return rowsOf<{ relation: string }>(
    await db.query(
      `SELECT DISTINCT format('%s.%s', n.nspname, c.relname) AS relation
         FROM pg_trigger t
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE t.tgrelid = ANY ($1::text[]::regclass[]) AND NOT t.tgisinternal
          AND ${AUDIT_TRAIL_TRIGGER}
        ORDER BY 1`,
      [tables],
    ),
  ).map((r) => r.relation);
}

/**
 * Checks that the audit trail of `audited` will have its log distributed: `tenancy.audit_log` is
 * listed in `tables` or is a distributed table already; otherwise a TenancyConfigurationError.
 */
async function ensureAuditLogDistributed(
  db: SqlExecutor,
  audited: string[],
  tables: string[],
): Promise<void> {
  if (!audited.length || tables.includes(AUDIT_LOG_TABLE)) return;
  const [row] = rowsOf<{ citus: boolean }>(
    await db.query(
      `SELECT EXISTS (SELECT 1 FROM pg_dist_partition
                       WHERE logicalrelid = to_regclass($1) AND partmethod = 'h') AS citus`,
      [AUDIT_LOG_TABLE],
    ),
  );
  if (row?.citus) return;
  throw new TenancyConfigurationError(
    `the audit trail's trigger on ${audited.join(', ')} writes each change into ${AUDIT_LOG_TABLE} on the node of the row's shard, and ${AUDIT_LOG_TABLE} is neither in tables nor distributed: list it in tables (it is then distributed first, the others colocated with it), or take those tables out of the audit trail (disableAuditTrail())`,
  );
}

/** Whether the database has Citus; without it, logs that `helper` left the tables as they are. */
async function citusOrSaySo(
  db: SqlExecutor,
  o: ReturnType<typeof resolve>,
  helper: string,
): Promise<boolean> {
  if (await hasCitus(db)) return true;
  const count = o.tables.length + o.referenceTables.length;
  o.logger.log(
    `citus is not installed in this database: ${helper} left ${count} table(s) as they are`,
  );
  return false;
}

/** `tables` ordered by their foreign keys, or a TenancyConfigurationError naming a cycle. */
function inForeignKeyOrder(tables: string[], edges: ForeignKeyEdge[]): string[] {
  const { ordered, cyclic } = foreignKeyOrder(tables, edges);
  if (cyclic.length) {
    throw new TenancyConfigurationError(
      `${cyclic.join(', ')} reference each other in a cycle of foreign keys, and Citus distributes one table at a time, each after the tables it references: drop one foreign key of the cycle before this migration and add it back after`,
    );
  }
  return ordered;
}

/**
 * On a database with the `citus` extension, makes `referenceTables` reference tables (copied to
 * every node) and distributes `tables` by the tenant column, colocated, each after the tables it
 * references (`create_reference_table`, then `create_distributed_table`, names as bind
 * parameters). On plain PostgreSQL it does nothing but log one line saying so, so a migration
 * calling it runs everywhere. Resolves to whether Citus was there. Run it in the migration's
 * transaction, after `checkTenancyCatalog(db, { profile: 'citus' })` reports no `CITUS_*` finding
 * (Citus refuses policies with sub-selects, triggers and keys without the tenant column);
 * {@link undistributeTenantTables} reverses it.
 *
 * When tables to distribute carry the library's audit trail (`enableAuditTrail`, the plan's
 * `unsafeTriggerTables`), it distributes `tenancy.audit_log` first (it must be listed, or be
 * distributed already: otherwise a TenancyConfigurationError, before anything is distributed) and
 * turns `citus.enable_unsafe_triggers` on for the rest of the transaction before the
 * `create_distributed_table` calls. That setting admits every trigger of the tables distributed
 * after it, not only the audit trail's: the catalog check reports the others (`CITUS_TRIGGER`).
 */
export async function distributeTenantTables(
  db: SqlExecutor,
  options: CitusDistributionOptions,
): Promise<boolean> {
  const o = resolve(options);
  if (!(await citusOrSaySo(db, o, 'distributeTenantTables'))) return false;
  const edges = await foreignKeysAmong(db, [...o.referenceTables, ...o.tables]);
  const reference = inForeignKeyOrder(o.referenceTables, edges);
  let distributed = inForeignKeyOrder(o.tables, edges);
  const audited = o.tables.length ? await auditedAmong(db, o.tables) : [];
  await ensureAuditLogDistributed(db, audited, o.tables);
  if (audited.length && o.tables.includes(AUDIT_LOG_TABLE)) {
    distributed = inForeignKeyOrder(
      [AUDIT_LOG_TABLE, ...o.tables.filter((t) => t !== AUDIT_LOG_TABLE)],
      edges,
    );
  }
  for (const { sql, parameters } of distributionStatements(
    reference,
    distributed,
    o.column,
    o.colocateWith,
    audited.length > 0,
  )) {
    await db.query(sql, parameters);
  }
  o.logger.log(
    `citus: ${reference.length} reference table(s) (${reference.join(', ')}) and ${distributed.length} table(s) distributed by ${o.column}, colocated (${distributed.join(', ')})${audited.length ? `; citus.enable_unsafe_triggers on for the audit trail of ${audited.join(', ')}` : ''}`,
  );
  return true;
}

/**
 * Reverses {@link distributeTenantTables} with the same options: on a database with the `citus`
 * extension, brings every listed table that is still a Citus table back to the coordinator as a
 * plain table (`undistribute_table(..., cascade_via_foreign_keys => true)`, which also brings back
 * the tables joined to it by foreign keys, as Citus requires), the distributed ones first,
 * referencing tables before referenced ones. Citus refuses to undistribute a table with an
 * identity column. On plain PostgreSQL it only logs one line. Resolves to whether Citus was there.
 */
export async function undistributeTenantTables(
  db: SqlExecutor,
  options: CitusDistributionOptions,
): Promise<boolean> {
  const o = resolve(options);
  if (!(await citusOrSaySo(db, o, 'undistributeTenantTables'))) return false;
  const edges = await foreignKeysAmong(db, [...o.referenceTables, ...o.tables]);
  const tables = [
    ...inForeignKeyOrder(o.tables, edges).reverse(),
    ...inForeignKeyOrder(o.referenceTables, edges).reverse(),
  ];
  const undistributed: string[] = [];
  for (const table of tables) {
    const [row] = rowsOf<{ citus: boolean }>(
      await db.query(
        'SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = $1::regclass) AS citus',
        [table],
      ),
    );
    if (!row?.citus) continue;
    await db.query('SELECT undistribute_table($1::regclass, cascade_via_foreign_keys => true)', [
      table,
    ]);
    undistributed.push(table);
  }
  o.logger.log(
    `citus: undistributed ${undistributed.join(', ') || 'nothing'} (with the tables joined to them by foreign keys)`,
  );
  return true;
}
