import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { QueryRunner } from 'typeorm';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenantContext } from '../context/tenant-context.interface';
import {
  TenantConnectionLostError,
  TenantTransactionAbortedError,
  TenantTransactionClosedError,
  TenantTransactionOwnershipError,
} from '../errors/tenancy-errors';
import { TenancyError } from '../errors/tenancy.error';
import { TenancySettingNames } from '../tenancy.constants';
import { RUNNER_CONTEXT } from '../tenancy.internal-constants';
import { holdWritesUntilIdle, holdWritesUntilNextTick } from './pipeline-flights';
import { settingsStatement } from './rls-transaction.subscriber';

type CreateQueryRunner = (mode?: 'master' | 'slave') => QueryRunner;
type AnyQuery = (sql: string, parameters?: unknown[], structured?: boolean) => Promise<unknown>;

/** The parts of a pg client the tenant transaction uses. */
interface PgConnection {
  query(
    sql: string | { text: string; values: unknown[]; name?: string },
    parameters?: unknown[],
  ): Promise<unknown>;
  pipeline?: boolean;
  getTransactionStatus?(): string;
}

interface ScopedRunner extends QueryRunner {
  transactionDepth: number;
  isTransactionActive: boolean;
  databaseConnection?: PgConnection;
}

/** Statements issued while the scope's transaction begins skip the begin gate (they ARE the begin). */
const beginning = new AsyncLocalStorage<TenantTransaction>();
/**
 * Statements sent from inside the scope's own work pass its closed check: TypeORM's START
 * TRANSACTION, SAVEPOINT and the settings within an admitted statement, its ROLLBACK at the end.
 */
const own = new AsyncLocalStorage<TenantTransaction>();
const logger = new Logger('Tenancy');
const ISOLATION = new Set([
  'READ UNCOMMITTED',
  'READ COMMITTED',
  'REPEATABLE READ',
  'SERIALIZABLE',
]);

/** What a tenant transaction needs of the module's options. */
type SettingsOptions = {
  settings: TenancySettingNames;
  preparedSettings?: boolean;
  requestRoleFunction?: string;
};

/** The settings statement as pg takes it: named (parsed once per connection) when asked for. */
function settingsQuery(
  options: SettingsOptions,
  context: TenantContext,
): { text: string; values: string[]; name?: string } {
  const [text, values] = settingsStatement(options.settings, context, options.requestRoleFunction);
  return options.preparedSettings ? { name: 'tenancy_settings', text, values } : { text, values };
}

const PLAIN_READ = /^\s*(SELECT|WITH)\b/i;
const WRITES =
  /\b(INSERT|UPDATE|DELETE|MERGE|FOR\s+(NO\s+KEY\s+)?UPDATE|FOR\s+(KEY\s+)?SHARE|NEXTVAL|SETVAL)\b/i;

/**
 * One tenant-scoped unit of work (an HTTP request or a `run()` call): a single connection and a
 * single transaction, begun lazily on the first statement and ended by the scope's owner. Every
 * query runner TypeORM asks for inside the scope is this one, so repositories, EntityManager,
 * QueryBuilder, DataSource.query, relation loading, streams and nested transactions (savepoints)
 * all run after the RLS settings are written.
 *
 * On a pg connection in pipeline mode (`extra: { pipeline: true }`), BEGIN and the settings go out
 * in the same flight as the first statement, and a transaction that only read commits without the
 * request waiting for it (pg keeps the COMMIT ahead of the connection's next statement).
 */
export class TenantTransaction {
  private runner?: ScopedRunner;
  private queued?: Promise<void>;
  private begun?: Promise<void>;
  private pipelined = false;
  private wrote = false;
  private ended = false;
  /** Statements admitted and not yet settled: the scope's end waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private original!: {
    query: QueryRunner['query'];
    stream: QueryRunner['stream'];
    start: QueryRunner['startTransaction'];
    commit: QueryRunner['commitTransaction'];
    rollback: QueryRunner['rollbackTransaction'];
    release: QueryRunner['release'];
  };

  private isolationLevel?: IsolationLevel;

  constructor(
    private readonly create: CreateQueryRunner,
    private readonly options: SettingsOptions,
    readonly context: TenantContext,
  ) {}

  /** The scope's query runner; the same instance for every caller until the scope ends. */
  queryRunner(): QueryRunner {
    if (this.ended) throw new TenantTransactionClosedError();
    return (this.runner ??= this.wrap(this.create('master') as ScopedRunner));
  }

  /** Whether any statement was sent (and so a transaction is open). */
  get started(): boolean {
    return this.queued !== undefined;
  }

  /** Commits the transaction if one was begun, and returns the connection to the pool. */
  async commit(): Promise<void> {
    await this.finish('commit');
  }

  /** Rolls back the transaction if one was begun, and returns the connection to the pool. */
  async rollback(): Promise<void> {
    await this.finish('rollback');
  }

  private async finish(action: 'commit' | 'rollback'): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const r = this.runner;
    if (!r) return;
    // A statement admitted before the end may still be on its way to pg (TypeORM awaits its
    // BeforeQuery subscribers first): it must reach this connection before COMMIT and release.
    while (this.inFlight.size) await Promise.allSettled(this.inFlight);
    return own.run(this, () => this.end(r, action));
  }

  private async end(r: ScopedRunner, action: 'commit' | 'rollback'): Promise<void> {
    let error: Error | undefined;
    let broken = false;
    try {
      if (this.queued) {
        await this.queued;
        await this.begun;
      }
      if (this.queued && r.isReleased) throw new TenantConnectionLostError();
      if (this.queued && r.isTransactionActive) {
        const aborted = r.databaseConnection?.getTransactionStatus?.() === 'E';
        const leftOpen = r.transactionDepth > 1;
        if (action === 'rollback' || aborted || leftOpen) {
          await this.rollbackAll(r);
          if (action === 'commit') {
            error = aborted
              ? new TenantTransactionAbortedError()
              : new TenantTransactionOwnershipError(
                  'commit with an unfinished nested transaction in',
                );
          }
        } else if (this.pipelined && !this.wrote) {
          this.commitWithoutWaiting(r);
        } else if (!(await this.commitAndConfirm(r))) {
          error = new TenantTransactionAbortedError();
        }
      }
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      broken = !(error instanceof TenancyError);
      if (r.isTransactionActive && !broken) await this.rollbackAll(r).catch(() => undefined);
    } finally {
      await this.releaseConnection(r, broken ? error : undefined);
    }
    if (error !== undefined) throw error;
  }

  /**
   * Sends COMMIT and reports whether PostgreSQL committed: on a transaction an earlier error aborted
   * it answers with the command tag ROLLBACK. (The status in pg's last ReadyForQuery can still be
   * stale when a handler swallowed the error, so the tag is the reliable signal.)
   */
  private async commitAndConfirm(r: ScopedRunner): Promise<boolean> {
    const broadcaster = (
      r as unknown as { broadcaster?: { broadcast(event: string): Promise<void> } }
    ).broadcaster;
    await broadcaster?.broadcast('BeforeTransactionCommit');
    const result = (await r.databaseConnection!.query('COMMIT')) as { command?: string };
    r.transactionDepth = 0;
    r.isTransactionActive = false;
    if (result?.command === 'ROLLBACK') return false;
    await broadcaster?.broadcast('AfterTransactionCommit');
    return true;
  }

  private commitWithoutWaiting(r: ScopedRunner): void {
    holdWritesUntilIdle(r.databaseConnection);
    r.databaseConnection!.query('COMMIT').catch((e: unknown) =>
      logger.warn(`read-only COMMIT failed after the response: ${String(e)}`),
    );
    r.transactionDepth = 0;
    r.isTransactionActive = false;
  }

  private async rollbackAll(r: ScopedRunner): Promise<void> {
    if (r.transactionDepth > 1 || this.pipelined) {
      await this.original.query.call(r, 'ROLLBACK');
      r.transactionDepth = 0;
      r.isTransactionActive = false;
    } else {
      await this.original.rollback.call(r);
    }
  }

  private async releaseConnection(r: ScopedRunner, error?: Error): Promise<void> {
    const pgRelease = (r as unknown as { releasePostgresConnection?: (e?: Error) => Promise<void> })
      .releasePostgresConnection;
    if (error && pgRelease && !r.isReleased) return pgRelease.call(r, error);
    return this.original.release.call(r);
  }

  /**
   * Runs a statement of the scope, or refuses it once the scope has ended: a statement sent then
   * would open a connection nobody releases, or run on one already handed to the next request.
   */
  private admit<T>(statement: () => Promise<T>): Promise<T> {
    if (this.ended && own.getStore() !== this) {
      return Promise.reject(new TenantTransactionClosedError());
    }
    const running = own.run(this, statement);
    const settled = () => void this.inFlight.delete(running);
    this.inFlight.add(running);
    running.then(settled, settled);
    return running;
  }

  private gate(): Promise<void> {
    if (beginning.getStore() === this) return Promise.resolve();
    return (this.queued ??= this.begin());
  }

  /**
   * Begins the transaction and writes the settings. On a pipelined connection both are only queued
   * (they go out with the first statement, which is queued behind them); otherwise they are awaited,
   * through TypeORM's startTransaction and the RlsTransactionSubscriber.
   */
  private async begin(): Promise<void> {
    const r = this.runner!;
    const connection = (await r.connect()) as PgConnection;
    if (connection.pipeline) {
      this.pipelined = true;
      holdWritesUntilNextTick(connection);
      const level = this.isolationLevel;
      if (level && !ISOLATION.has(level))
        throw new TenancyError(`unknown isolation level ${level}`);
      const started = Promise.all([
        connection.query(
          level ? `START TRANSACTION ISOLATION LEVEL ${level}` : 'START TRANSACTION',
        ),
        connection.query(settingsQuery(this.options, this.context)),
      ]);
      r.transactionDepth = 1;
      r.isTransactionActive = true;
      this.begun = started.then(() => undefined);
      this.begun.catch(() => undefined);
      return;
    }
    await beginning.run(this, () => this.original.start.call(r, this.isolationLevel));
  }

  private wrap(r: ScopedRunner): ScopedRunner {
    this.original = {
      query: r.query,
      stream: r.stream,
      start: r.startTransaction,
      commit: r.commitTransaction,
      rollback: r.rollbackTransaction,
      release: r.release,
    };
    const o = this.original;
    r.data = { ...(r.data ?? {}), [RUNNER_CONTEXT]: this.context };
    r.query = ((sql: string, parameters?: unknown[], structured?: boolean) =>
      this.admit(async () => {
        await this.gate();
        if (r.isReleased) throw new TenantConnectionLostError();
        if (!this.wrote && beginning.getStore() !== this)
          this.wrote = !PLAIN_READ.test(sql) || WRITES.test(sql);
        if (this.pipelined) holdWritesUntilNextTick(r.databaseConnection);
        return (o.query as AnyQuery).call(r, sql, parameters, structured);
      })) as QueryRunner['query'];
    r.stream = (...args: Parameters<QueryRunner['stream']>) =>
      this.admit(async () => {
        await this.gate();
        if (r.isReleased) throw new TenantConnectionLostError();
        if (this.pipelined) {
          throw new TenancyError(
            'streams are not supported on a pipelined connection (pg refuses cursors in pipeline mode): use a data source without extra.pipeline for streaming',
          );
        }
        return o.stream.apply(r, args);
      });
    r.startTransaction = (isolationLevel?: IsolationLevel) =>
      this.admit(async () => {
        if (!this.queued && isolationLevel) this.isolationLevel = isolationLevel;
        await this.gate();
        if (beginning.getStore() === this) return;
        this.wrote = true;
        return o.start.call(r, isolationLevel);
      });
    r.commitTransaction = async () => {
      if (r.transactionDepth <= 1) throw new TenantTransactionOwnershipError('commit');
      return o.commit.call(r);
    };
    r.rollbackTransaction = async () => {
      if (r.transactionDepth <= 1) throw new TenantTransactionOwnershipError('roll back');
      return o.rollback.call(r);
    };
    r.release = async () => {};
    // TypeORM starts its own transaction for save() only when none is active; the scope is one.
    r.isTransactionActive = true;
    return r;
  }
}
