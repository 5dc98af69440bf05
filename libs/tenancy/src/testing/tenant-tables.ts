import type { ProbeConnection } from './probe-connection';

/** A column of a tenant table, with what the connection's role may do with it. */
export interface TenantTableColumn {
  /** Column name, as in the catalog. */
  name: string;
  /** The quoted name, for SQL. */
  sql: string;
  /** The role may read it. */
  select: boolean;
  /** The role may write it in an INSERT (never true for generated or GENERATED ALWAYS columns). */
  insert: boolean;
  /** The role may write it in an UPDATE (never true for generated or GENERATED ALWAYS columns). */
  update: boolean;
  /** The database fills it when an INSERT leaves it out (a default or an identity). */
  filled: boolean;
  /** Its type is uuid (a fresh value is `gen_random_uuid()`). */
  uuid: boolean;
}

/** A tenant table as the kit probes it: every table in the inspected schemas with the tenant column. */
export interface TenantTable {
  /** `schema.table`, for messages. */
  relation: string;
  /** The quoted `"schema"."table"`, for SQL. */
  sql: string;
  /** The tenant column. */
  tenant: TenantTableColumn;
  /** The tenant column may be NULL: a shared table whose NULL rows every tenant may read. */
  shared: boolean;
  /** The role may write the table somehow (INSERT or UPDATE on a column, or DELETE). */
  writable: boolean;
  /** Every column, in table order. */
  columns: TenantTableColumn[];
  /**
   * The unique keys an INSERT ... ON CONFLICT can name (immediate, not partial, no expressions),
   * primary key first, each as its column names.
   */
  keys: string[][];
}

/** A double-quoted SQL identifier (any name the catalog holds). */
export function quoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

interface TableRow {
  relation: string;
  schema: string;
  name: string;
  shared: boolean;
  deletable: boolean;
  columns: Omit<TenantTableColumn, 'sql'>[];
  keys: string[][];
}

/**
 * The tenant tables of `schemas` (every schema but PostgreSQL's own when null): ordinary and
 * partitioned tables that have `tenantColumn`, in name order, without the `ignore`d ones; column
 * privileges are those of the connection's current role.
 */
export async function tenantTables(
  connection: ProbeConnection,
  tenantColumn: string,
  schemas: string[] | null,
  ignore: string[],
): Promise<TenantTable[]> {
  const rows = (await connection.query(
    `SELECT format('%s.%s', n.nspname, c.relname) AS relation, n.nspname AS schema,
            c.relname AS name, NOT a.attnotnull AS shared,
            has_table_privilege(c.oid, 'DELETE') AS deletable,
            (SELECT json_agg(json_build_object(
                      'name', x.attname,
                      'select', has_column_privilege(c.oid, x.attnum, 'SELECT'),
                      'insert', x.attgenerated = '' AND x.attidentity <> 'a'
                                AND has_column_privilege(c.oid, x.attnum, 'INSERT'),
                      'update', x.attgenerated = '' AND x.attidentity <> 'a'
                                AND has_column_privilege(c.oid, x.attnum, 'UPDATE'),
                      'filled', (x.atthasdef AND x.attgenerated = '') OR x.attidentity <> '',
                      'uuid', x.atttypid = 'uuid'::regtype)
                    ORDER BY x.attnum)
               FROM pg_attribute x
              WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped) AS columns,
            (SELECT coalesce(json_agg(
                      (SELECT json_agg(k.attname ORDER BY u.n)
                         FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(attnum, n)
                         JOIN pg_attribute k ON k.attrelid = c.oid AND k.attnum = u.attnum)
                      ORDER BY i.indisprimary DESC, i.indexrelid), '[]')
               FROM pg_index i
              WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate
                AND i.indpred IS NULL AND i.indexprs IS NULL) AS keys
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        AND ($2::text[] IS NULL OR n.nspname = ANY ($2::text[]))
      ORDER BY 1`,
    [tenantColumn, schemas],
  )) as unknown as TableRow[];
  const skipped = new Set(ignore);
  return rows
    .filter((row) => !skipped.has(row.relation))
    .map((row) => {
      const columns = row.columns.map((c) => ({ ...c, sql: quoted(c.name) }));
      return {
        relation: row.relation,
        sql: `${quoted(row.schema)}.${quoted(row.name)}`,
        tenant: columns.find((c) => c.name === tenantColumn)!,
        shared: row.shared,
        writable: row.deletable || columns.some((c) => c.insert || c.update),
        columns,
        keys: row.keys,
      };
    });
}
