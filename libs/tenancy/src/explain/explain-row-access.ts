import { validTenantContext } from '../context/tenant-context.validation';
import { qualifiedTable, QualifiedTable, quoteIdent, rowsOf, SqlExecutor } from '../migrations/sql';
import { DEFAULT_SETTING_NAMES } from '../tenancy.constants';
import { settingsStatement } from '../typeorm/rls-transaction.subscriber';
import { RowAccessExplainError } from './row-access-explain.error';
import {
  ExplainRowAccessOptions,
  ObservedAccess,
  PolicyCommand,
  RowAccessExplanation,
  RowAccessVerdict,
  RowPolicy,
  RowSecurityMode,
} from './row-access-explanation.interface';
import { EvaluatedPolicy, RowCommand, rowAccessVerdict, VerdictFacts } from './row-access-verdict';
import { sqlStateOf } from '../errors/sql-state';

const COMMANDS: Record<string, PolicyCommand> = {
  '*': 'ALL',
  r: 'SELECT',
  a: 'INSERT',
  w: 'UPDATE',
  d: 'DELETE',
};

/** How long a statement run as the role (`actual`) waits for a row lock before it gives up. */
const LOCK_TIMEOUT = '5s';

const SAVEPOINT = 'tenancy_explain';

interface TableFacts {
  oid: number;
  rls: boolean;
  forced: boolean;
  columns: string[];
  connection_role: string;
  reads_past_rls: boolean;
}

interface RoleFacts {
  role: string;
  tenant: string | null;
  superuser: boolean;
  bypassrls: boolean;
  owner: boolean;
  may_select: boolean;
  may_update: boolean;
  may_delete: boolean;
}

interface PolicyRow {
  name: string;
  permissive: boolean;
  cmd: string;
  roles: string[];
  expression: string | null;
  with_check: string | null;
  applies: boolean;
}

/** What one policy expression yielded on the row (null: no expression, or no row). */
interface Evaluation {
  passed: boolean | null;
  error?: string;
}

/** A row looked up by its key: the WHERE clause and its bind parameters. */
interface KeyMatch {
  where: string;
  values: unknown[];
  text: string;
}

/** `SQLSTATE: message` of a pg or TypeORM error. */
function describeError(error: unknown): string {
  const code = sqlStateOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined ? `${code}: ${message}` : message;
}

function assertOneConnection(db: SqlExecutor): void {
  const candidate = db as {
    createQueryRunner?: unknown;
    totalCount?: unknown;
    isTransactionActive?: unknown;
  };
  if (
    typeof candidate.createQueryRunner === 'function' ||
    typeof candidate.totalCount === 'number'
  ) {
    throw new RowAccessExplainError(
      'explainRowAccess runs one transaction on one connection: pass a pg Client (or a client checked out of a pool) or a TypeORM QueryRunner, not a pool or a DataSource',
    );
  }
  if (candidate.isTransactionActive === true) {
    throw new RowAccessExplainError(
      'explainRowAccess opens (and rolls back) its own transaction: call it outside one',
    );
  }
}

function keyMatch(key: Record<string, unknown>, alias?: string): KeyMatch {
  const columns = Object.keys(key);
  if (!columns.length) {
    throw new RowAccessExplainError(
      'explainRowAccess needs a key: at least one column and its value',
    );
  }
  const prefix = alias ? `${alias}.` : '';
  for (const column of columns) {
    if (key[column] === null || key[column] === undefined) {
      throw new RowAccessExplainError(
        `key column "${column}" has no value: a key matches rows by equality, which NULL never satisfies`,
      );
    }
  }
  return {
    where: columns.map((c, i) => `${prefix}${quoteIdent(c)} = $${i + 1}`).join(' AND '),
    values: columns.map((c) => key[c]),
    text: columns.map((c) => `${c}=${String(key[c])}`).join(', '),
  };
}

/** Runs `work` inside a savepoint that is always rolled back; resolves with its result or error. */
async function inSavepoint<T>(
  db: SqlExecutor,
  work: () => Promise<T>,
): Promise<{ value: T } | { error: string }> {
  await db.query(`SAVEPOINT ${SAVEPOINT}`);
  try {
    return { value: await work() };
  } catch (error) {
    return { error: describeError(error) };
  } finally {
    await db.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    await db.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
  }
}

async function tableFacts(db: SqlExecutor, t: QualifiedTable): Promise<TableFacts> {
  const [facts] = rowsOf<TableFacts>(
    await db.query(
      `SELECT c.oid::int AS oid, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
              ARRAY(SELECT a.attname::text FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                     ORDER BY a.attnum) AS columns,
              current_user::text AS connection_role,
              (r.rolsuper OR r.rolbypassrls OR NOT c.relrowsecurity
                OR (NOT c.relforcerowsecurity AND pg_has_role(current_user, c.relowner, 'USAGE'))) AS reads_past_rls
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_roles r ON r.rolname = current_user
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [t.schema, t.table],
    ),
  );
  if (!facts) throw new RowAccessExplainError(`no table ${t.name}: name an existing schema.table`);
  return facts;
}

async function roleFacts(
  db: SqlExecutor,
  oid: number,
  tenantSetting: string,
  keyColumns: string[],
): Promise<RoleFacts> {
  const [facts] = rowsOf<RoleFacts>(
    await db.query(
      `SELECT current_user::text AS role, current_setting($1, true) AS tenant,
              r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
              pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
              (SELECT bool_and(has_column_privilege(current_user, c.oid, k, 'SELECT'))
                 FROM unnest($3::text[]) AS k) AS may_select,
              has_column_privilege(current_user, c.oid, $4, 'UPDATE') AS may_update,
              has_table_privilege(current_user, c.oid, 'DELETE') AS may_delete
         FROM pg_class c JOIN pg_roles r ON r.rolname = current_user
        WHERE c.oid = $2`,
      [tenantSetting, oid, keyColumns, keyColumns[0]],
    ),
  );
  return facts;
}

async function tablePolicies(db: SqlExecutor, oid: number): Promise<PolicyRow[]> {
  return rowsOf<PolicyRow>(
    await db.query(
      `SELECT p.polname::text AS name, p.polpermissive AS permissive, p.polcmd::text AS cmd,
              ARRAY(SELECT coalesce(a.rolname::text, 'public')
                      FROM unnest(p.polroles) WITH ORDINALITY AS u(oid, n)
                      LEFT JOIN pg_roles a ON a.oid = u.oid ORDER BY u.n) AS roles,
              pg_get_expr(p.polqual, p.polrelid) AS expression,
              pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
              EXISTS (SELECT 1 FROM unnest(p.polroles) AS u(oid)
                       WHERE u.oid = 0 OR pg_has_role(current_user, u.oid, 'USAGE')) AS applies
         FROM pg_policy p
        WHERE p.polrelid = $1
        ORDER BY p.polname`,
      [oid],
    ),
  );
}

function rowPolicy(row: PolicyRow): RowPolicy {
  return {
    name: row.name,
    kind: row.permissive ? 'PERMISSIVE' : 'RESTRICTIVE',
    command: COMMANDS[row.cmd],
    roles: row.roles,
    expression: row.expression,
    check: row.with_check,
  };
}

/**
 * Evaluates policy expressions, as the current role, on the row given as its text form: the row
 * becomes a one-row sub-select named like the table, so the expressions' column references (bare,
 * or qualified by the table's name inside their sub-selects) resolve as they do in the policy.
 */
function evaluator(
  db: SqlExecutor,
  t: QualifiedTable,
  row: string | null,
): (expression: string | null) => Promise<Evaluation> {
  const known = new Map<string, Evaluation>();
  return async (expression) => {
    if (expression === null || row === null) return { passed: null };
    const cached = known.get(expression);
    if (cached) return cached;
    const outcome = await inSavepoint(db, async () => {
      const [result] = rowsOf<{ passed: boolean }>(
        await db.query(
          `SELECT (${expression}) IS TRUE AS passed FROM (SELECT ($1::${t.sql}).*) AS ${quoteIdent(t.table)}`,
          [row],
        ),
      );
      return result.passed;
    });
    const evaluation =
      'value' in outcome ? { passed: outcome.value } : { passed: false, error: outcome.error };
    known.set(expression, evaluation);
    return evaluation;
  };
}

async function evaluatePolicies(
  rows: PolicyRow[],
  evaluate: ReturnType<typeof evaluator>,
): Promise<EvaluatedPolicy[]> {
  const evaluated: EvaluatedPolicy[] = [];
  for (const row of rows) {
    const policy = rowPolicy(row);
    const using = await evaluate(policy.expression);
    const withCheck = await evaluate(policy.check ?? policy.expression);
    const error = using.error ?? withCheck.error;
    evaluated.push({
      ...policy,
      using: using.passed,
      withCheck: withCheck.passed,
      ...(error === undefined ? {} : { error }),
    });
  }
  return evaluated;
}

/** Runs each command for real as the current role, each in a savepoint rolled back. */
async function observe(
  db: SqlExecutor,
  t: QualifiedTable,
  key: KeyMatch,
  firstKeyColumn: string,
): Promise<Record<RowCommand, ObservedAccess>> {
  await db.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
  const column = quoteIdent(firstKeyColumn);
  const statements: Record<RowCommand, string> = {
    read: `SELECT count(*)::int AS n FROM ${t.sql} WHERE ${key.where}`,
    update: `WITH changed AS (UPDATE ${t.sql} SET ${column} = ${column} WHERE ${key.where} RETURNING 1)
             SELECT count(*)::int AS n FROM changed`,
    delete: `WITH gone AS (DELETE FROM ${t.sql} WHERE ${key.where} RETURNING 1)
             SELECT count(*)::int AS n FROM gone`,
  };
  const observed = {} as Record<RowCommand, ObservedAccess>;
  for (const command of ['read', 'update', 'delete'] as const) {
    const outcome = await inSavepoint(db, async () => {
      const [result] = rowsOf<{ n: number }>(await db.query(statements[command], key.values));
      return result.n;
    });
    observed[command] =
      'value' in outcome
        ? { allowed: outcome.value > 0 }
        : { allowed: false, error: outcome.error };
  }
  return observed;
}

function rowSecurityOf(role: RoleFacts, table: TableFacts): [RowSecurityMode, string?] {
  if (!table.rls) return ['disabled'];
  if (role.superuser) return ['bypassed', 'superuser'];
  if (role.bypassrls) return ['bypassed', 'BYPASSRLS'];
  if (role.owner && !table.forced) {
    return ['bypassed', 'it owns the table, which does not FORCE ROW LEVEL SECURITY'];
  }
  return ['enforced'];
}

function withActual(verdict: RowAccessVerdict, actual: ObservedAccess): RowAccessVerdict {
  const comparable = actual.error === undefined || actual.error.startsWith('42501:');
  return { ...verdict, actual, mismatch: comparable && actual.allowed !== verdict.allowed };
}

/**
 * Explains whether a context (tenant, user, role) may read, update and delete one row, and which
 * policies allowed or refused it. Inside one transaction that is always rolled back, it reads the
 * row past row-level security (so the connection must be a superuser or have BYPASSRLS, unless the
 * table does not FORCE RLS on its owner), switches to `asRole` if given, writes the context with
 * the library's own settings statement (and request-role function), and evaluates each policy's
 * USING and WITH CHECK expression on that row as the role the transaction then runs as, so their
 * sub-selects see what that role sees. The verdict follows PostgreSQL's rules (any PERMISSIVE and
 * every RESTRICTIVE policy for the command; SELECT policies too, since the statements name the row
 * in a WHERE clause). With `asRole`, each statement is also run for real in a savepoint and
 * reported as `actual`. Pass one connection (a pg Client or a QueryRunner), outside a transaction;
 * nothing it does is committed.
 */
export async function explainRowAccess(
  db: SqlExecutor,
  options: ExplainRowAccessOptions,
): Promise<RowAccessExplanation> {
  assertOneConnection(db);
  const t = qualifiedTable(options.table);
  const key = keyMatch(options.key);
  const keyColumns = Object.keys(options.key);
  const context = validTenantContext(options.context);
  const settings = { ...DEFAULT_SETTING_NAMES, ...options.settings };
  const setRole =
    options.asRole === undefined ? null : `SET LOCAL ROLE ${quoteIdent(options.asRole)}`;
  const statement = settingsStatement(settings, context, options.requestRoleFunction);

  await db.query('BEGIN');
  try {
    const table = await tableFacts(db, t);
    const unknown = keyColumns.filter((c) => !table.columns.includes(c));
    if (unknown.length) {
      throw new RowAccessExplainError(
        `${t.name} has no column ${unknown.join(', ')}: its columns are ${table.columns.join(', ')}`,
      );
    }
    if (!table.reads_past_rls) {
      throw new RowAccessExplainError(
        `explainRowAccess reads the row past row-level security, which "${table.connection_role}" cannot do on ${t.name}${table.forced ? ' (FORCE ROW LEVEL SECURITY applies to its owner too)' : ''}: connect as a superuser or a role with BYPASSRLS, and name the application role in asRole`,
      );
    }
    const rows = rowsOf<{ row: string }>(
      await db.query(
        `SELECT (ROW(r.*)::${t.sql})::text AS row FROM ${t.sql} AS r WHERE ${keyMatch(options.key, 'r').where} LIMIT 2`,
        key.values,
      ),
    );
    if (rows.length > 1) {
      throw new RowAccessExplainError(
        `${key.text} matches more than one row of ${t.name}: give every column of its primary key`,
      );
    }
    const row = rows[0]?.row ?? null;

    if (setRole) await db.query(setRole);
    await db.query(...statement);
    const role = await roleFacts(db, table.oid, settings.tenantId, keyColumns);
    if (role.tenant !== context.tenantId) {
      throw new RowAccessExplainError(
        'the settings written did not reach the next statement: pass one connection (a pg Client or a QueryRunner), not a pool',
      );
    }
    const policyRows = await tablePolicies(db, table.oid);
    const applying = policyRows.filter((p) => p.applies);
    const policies = await evaluatePolicies(applying, evaluator(db, t, row));
    const [rowSecurity, bypassReason] = rowSecurityOf(role, table);
    const facts: VerdictFacts = {
      table: t.name,
      role: role.role,
      keyText: key.text,
      exists: row !== null,
      rowSecurity,
      bypassReason,
      missingPrivilege: {
        read: role.may_select ? null : 'SELECT',
        update: !role.may_select ? 'SELECT' : role.may_update ? null : 'UPDATE',
        delete: !role.may_select ? 'SELECT' : role.may_delete ? null : 'DELETE',
      },
      policies,
    };
    const explanation: RowAccessExplanation = {
      table: t.name,
      key: { ...options.key },
      context: { tenantId: context.tenantId, userId: context.userId, role: context.role },
      role: role.role,
      rowSecurity,
      exists: row !== null,
      read: rowAccessVerdict('read', facts),
      update: rowAccessVerdict('update', facts),
      delete: rowAccessVerdict('delete', facts),
      otherPolicies: policyRows.filter((p) => !p.applies).map(rowPolicy),
    };
    if (setRole) {
      const actual = await observe(db, t, key, keyColumns[0]);
      explanation.read = withActual(explanation.read, actual.read);
      explanation.update = withActual(explanation.update, actual.update);
      explanation.delete = withActual(explanation.delete, actual.delete);
    }
    return explanation;
  } finally {
    await db.query('ROLLBACK');
  }
}
