import type { DataSource } from 'typeorm';
import { TenancyConfigurationError, TenantQueryRunner } from '../index';
import type { TenancySettingNames, TenantContext } from '../index';
import { settingsStatement } from '../typeorm/rls-transaction.subscriber';

/** A row of a probe's result. */
export type ProbeRow = Record<string, unknown>;

/** What one statement of a probe did: its rows and row count, or the error PostgreSQL raised. */
export type Attempt =
  | { ok: true; rows: ProbeRow[]; rowCount: number }
  | { ok: false; code: string; message: string; constraint?: string };

/** The part of a pg client the kit uses (the connection behind a TypeORM PostgresQueryRunner). */
interface PgConnection {
  query(
    sql: string,
    parameters?: unknown[],
  ): Promise<{ rows: ProbeRow[]; rowCount: number | null }>;
}

/** The empty context: what a connection outside any tenant scope carries. */
const NO_CONTEXT: TenantContext = Object.freeze({
  tenantId: '',
  userId: '',
  role: '',
  requestId: '',
});

/** SQLSTATE and constraint name of a pg error (code '' when the error carries none). */
function failure(error: unknown): Extract<Attempt, { ok: false }> {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return {
    ok: false,
    code: typeof code === 'string' ? code : '',
    message: error instanceof Error ? error.message : String(error),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}

/**
 * One pooled connection of the app's DataSource, used by the leak-test kit: every piece of work runs
 * in a transaction that is always rolled back ({@link ProbeConnection.rolledBack}), contexts are
 * written with the library's own settings statement (transaction-local), and statements that may
 * fail run under a savepoint ({@link ProbeConnection.attempt}), so nothing the kit does outlives it.
 * Statements go to the pg connection itself, so the app's TypeORM subscribers and query logger
 * see none of them.
 */
export class ProbeConnection {
  private constructor(
    private readonly connection: PgConnection,
    private readonly settings: TenancySettingNames,
    private readonly requestRoleFunction: string | undefined,
  ) {}

  /**
   * Runs `work` on a connection taken from `dataSource`'s pool and released afterwards. Refused
   * inside a tenant scope, whose transaction the kit must not touch.
   */
  static async use<T>(
    dataSource: DataSource,
    settings: TenancySettingNames,
    requestRoleFunction: string | undefined,
    work: (connection: ProbeConnection) => Promise<T>,
  ): Promise<T> {
    const runner = dataSource.createQueryRunner();
    if (runner instanceof TenantQueryRunner) {
      throw new TenancyConfigurationError(
        'checkTenantIsolation() was called inside a tenant scope; call it outside any scope (in the test itself), where it uses a connection of its own',
      );
    }
    try {
      const connection = (await runner.connect()) as PgConnection;
      return await work(new ProbeConnection(connection, settings, requestRoleFunction));
    } finally {
      await runner.release();
    }
  }

  /** Runs one statement with bind parameters; a failure propagates. */
  async query(sql: string, parameters: unknown[] = []): Promise<ProbeRow[]> {
    return (await this.connection.query(sql, parameters)).rows;
  }

  /** Runs `work` inside BEGIN ... ROLLBACK: whatever it does, nothing is committed. */
  async rolledBack<T>(work: () => Promise<T>): Promise<T> {
    await this.connection.query('BEGIN');
    try {
      return await work();
    } finally {
      await this.connection.query('ROLLBACK');
    }
  }

  /**
   * Runs `work` under a savepoint that is rolled back afterwards, so each step starts from the
   * same rows and settings and one step's writes never reach the next.
   */
  async step<T>(work: () => Promise<T>): Promise<T> {
    await this.connection.query('SAVEPOINT tenancy_kit_step');
    try {
      return await work();
    } finally {
      await this.connection.query('ROLLBACK TO SAVEPOINT tenancy_kit_step');
      await this.connection.query('RELEASE SAVEPOINT tenancy_kit_step');
    }
  }

  /**
   * Writes `context` (or the empty context for `null`) into the transaction with the library's
   * settings statement; with a request-role function, a context runs as the role it names, and the
   * empty context as the connection's own role.
   */
  async as(context: TenantContext | null): Promise<void> {
    if (this.requestRoleFunction !== undefined) {
      await this.connection.query(`SELECT set_config('role', 'none', true)`);
    }
    const roleFunction = context ? this.requestRoleFunction : undefined;
    await this.connection.query(
      ...settingsStatement(this.settings, context ?? NO_CONTEXT, roleFunction),
    );
  }

  /**
   * Runs one statement under its own savepoint: on success its effects stay (until the step ends),
   * on failure the transaction goes on as before the statement and the SQLSTATE (and the
   * constraint PostgreSQL names, if any) is returned.
   */
  async attempt(sql: string, parameters: unknown[] = []): Promise<Attempt> {
    await this.connection.query('SAVEPOINT tenancy_kit_attempt');
    try {
      const result = await this.connection.query(sql, parameters);
      await this.connection.query('RELEASE SAVEPOINT tenancy_kit_attempt');
      return { ok: true, rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (error) {
      await this.connection.query('ROLLBACK TO SAVEPOINT tenancy_kit_attempt');
      await this.connection.query('RELEASE SAVEPOINT tenancy_kit_attempt');
      return failure(error);
    }
  }
}
