import { sqlStateOf } from '../errors/sql-state';
import { TenancyConfigurationError } from '../errors/tenancy.error';

const IDENT = /^[a-z_][a-z0-9_$]{0,62}$/;
const SETTING = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/** Quotes a lower-case SQL identifier after checking it; anything else is refused, never escaped. */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) {
    throw new TenancyConfigurationError(
      `"${name}" is not a safe SQL identifier: use lower-case letters, digits and underscores`,
    );
  }
  return `"${name}"`;
}

/** A schema-qualified table, parsed from `schema.table` (schema `public` when omitted). */
export interface QualifiedTable {
  schema: string;
  table: string;
  /** The quoted `"schema"."table"` form for DDL. */
  sql: string;
  /** The unquoted `schema.table` form for `::regclass` bind parameters. */
  name: string;
}

/** Parses and validates `schema.table`. */
export function qualifiedTable(name: string): QualifiedTable {
  const parts = name.split('.');
  if (parts.length > 2) throw new TenancyConfigurationError(`"${name}" is not schema.table`);
  const [schema, table] = parts.length === 2 ? parts : ['public', parts[0]];
  return {
    schema,
    table,
    sql: `${quoteIdent(schema)}.${quoteIdent(table)}`,
    name: `${schema}.${table}`,
  };
}

/** Checks a custom setting name (`prefix.name`, lower case) and returns it as a SQL literal. */
export function settingLiteral(name: string): string {
  if (!SETTING.test(name)) {
    throw new TenancyConfigurationError(
      `"${name}" is not a valid setting name: use "prefix.name" in lower case, e.g. "app.tenant_id"`,
    );
  }
  return `'${name}'`;
}

/** Rows of a query, whether the executor returns an array (TypeORM) or a pg result. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: T[] } | undefined)?.rows;
  return rows ?? [];
}

/** Anything that runs SQL with bind parameters: a TypeORM QueryRunner, DataSource or pg Client. */
export interface SqlExecutor {
  /** Runs one statement with bind parameters (`$1`...); resolves with the driver's result. */
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Runs `work`, turning PostgreSQL's `role "<role>" does not exist` (42704) into a
 * TenancyConfigurationError that says how to create the application role or name the right one.
 */
export async function withAppRole<T>(role: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (sqlStateOf(error) !== '42704' || !message.includes(`"${role}"`)) throw error;
    throw new TenancyConfigurationError(
      `the application role "${role}" does not exist (PostgreSQL: ${message}): create it in an earlier migration with ensureAppRole() (the role running migrations needs CREATEROLE), or pass the role the app connects as in the appRole option (tenancyMigrations({ appRole }) sets it once for every helper)`,
    );
  }
}
