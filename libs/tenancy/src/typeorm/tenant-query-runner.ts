import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { ReadStream } from 'typeorm/platform/PlatformTools';
import { TenantContext } from '../context/tenant-context.interface';
import {
  TenantConnectionLostError,
  TenantReadOnlyScopeError,
  TenantSessionStateError,
  TenantStreamAbandonedError,
  TenantTransactionAbortedError,
  TenantTransactionClosedError,
  TenantTransactionOwnershipError,
} from '../errors/tenancy-errors';
import { TenancyError } from '../errors/tenancy.error';
import { TenancySettingNames } from '../tenancy.constants';
import { NestedTransactions, signal } from './nested-transactions';
import { holdWritesUntilIdle, holdWritesUntilNextTick } from './pg-write-batching';
import { sessionStateViolation } from './session-state.guard';
import type { SettingsStatement } from './rls-transaction.subscriber';
import { sqlStateOf } from '../errors/sql-state';

/** What a tenant scope needs of the module's options. */
export interface TenantScopeOptions {
  settings: TenancySettingNames;
  preparedSettings: boolean;
  requestRoleFunction?: string;
  pgWriteBatching: boolean;
  contextStatement: 'set-config' | 'set-local';
}

/**
 * Where one scope runs. `readOnly`: its transaction is read-only. `replica`: it takes its
 * connection from TypeORM's replicas (`replication.slaves`), and `replicaFailed` decides what a
 * replica that cannot be reached means: it returns to fall back to the primary, or throws.
 */
export interface TenantScopePlacement {
  readOnly: boolean;
  replica: boolean;
  replicaFailed?: (error: unknown) => void;
}

/** A scope that may write: on the primary. */
export const ON_PRIMARY: TenantScopePlacement = Object.freeze({ readOnly: false, replica: false });
/** A read-only scope on the primary (no replica, or none that can serve it). */
export const READ_ONLY_ON_PRIMARY: TenantScopePlacement = Object.freeze({
  readOnly: true,
  replica: false,
});

/** The parts of a pg client the scope uses directly. */
interface PgConnection {
  query(
    sql: string | { text: string; values: unknown[]; name?: string },
    parameters?: unknown[],
  ): Promise<{ command?: string }>;
  pipeline?: boolean;
  getTransactionStatus?(): string;
}

/**
 * What the current async context does for a scope. `beginning`: statements sent while the scope's
 * transaction begins (BEGIN, the settings) are the begin. `own`: statements sent by the scope's own
 * work pass its closed check (SAVEPOINT, its final ROLLBACK). One AsyncLocalStorage for both: in
 * Node 20 every enabled one costs every promise of the process a propagation step.
 */
interface ScopeWork {
  beginning?: TenantQueryRunner;
  own?: TenantQueryRunner;
}
const work = new AsyncLocalStorage<ScopeWork>();

/** Runs `fn` as `runner`'s `part` (its begin, or its own work), keeping the other part as it is. */
function runAs<T>(part: keyof ScopeWork, runner: TenantQueryRunner, fn: () => T): T {
  return work.run({ ...work.getStore(), [part]: runner }, fn);
}
const logger = new Logger('Tenancy');
const rethrow = (error: unknown): never => {
  throw error;
};
const ISOLATION = new Set([
  'READ UNCOMMITTED',
  'READ COMMITTED',
  'REPEATABLE READ',
  'SERIALIZABLE',
]);
/** The transaction events the scope fires itself, and the subscriber method of each. */
const LISTENER = {
  BeforeTransactionStart: 'beforeTransactionStart',
  AfterTransactionStart: 'afterTransactionStart',
  BeforeTransactionCommit: 'beforeTransactionCommit',
  AfterTransactionCommit: 'afterTransactionCommit',
  AfterTransactionRollback: 'afterTransactionRollback',
} as const;
type TransactionEvent = keyof typeof LISTENER;
const PLAIN_READ = /^\s*(SELECT|WITH)\b/i;
const WRITES =
  /\b(INSERT|UPDATE|DELETE|MERGE|FOR\s+(NO\s+KEY\s+)?UPDATE|FOR\s+(KEY\s+)?SHARE|NEXTVAL|SETVAL)\b/i;

/**
 * The query runner of one tenant scope (an HTTP request, a `run()` call): a single connection and a
 * single transaction, begun lazily on the first statement and ended by the scope's owner. Inside the
 * scope, the library's DataSource hands this runner to every caller, so repositories, EntityManager,
 * QueryBuilder, DataSource.query, relation loading, streams and nested transactions (savepoints) all
 * run after the {@link RlsTransactionSubscriber} has written the context at the transaction's start.
 *
 * A subclass of TypeORM's PostgresQueryRunner: TypeORM's own methods send every statement and fire
 * every subscriber event; this class adds the scope's rules (lazy begin, one transaction the caller
 * cannot commit, session state refused, nothing after the scope's end). On a pg connection in
 * pipeline mode (`extra: { pipeline: true }`), BEGIN and the settings are sent without waiting, so
 * they travel with the first statement, and a transaction that only read commits without the
 * request waiting for it (pg keeps the COMMIT ahead of the connection's next statement).
 */
export class TenantQueryRunner extends PostgresQueryRunner {
  private queued?: Promise<void>;
  private begun?: Promise<unknown>;
  private pipelined = false;
  private wrote = false;
  private ended = false;
  private scopeManager?: EntityManager;
  /** Statements admitted and not yet settled: the scope's end waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Streams opened in the scope and not yet ended: the scope's end destroys them. */
  private readonly streams = new Set<Readable>();
  private readonly endSignal = signal();
  private readonly nested = new NestedTransactions(this.endSignal, () => this.ended);

  /**
   * @param owner the DataSource whose scope this is (TypeORM 0.3 and 1.x name it differently on a runner)
   * @param context the tenant, user and role the scope runs as
   * @param scope the module's options the scope follows
   * @param isolationLevel the isolation level of the scope's transaction (default: the DataSource's)
   * @param placement whether the scope is read-only, and whether it runs on a replica
   */
  constructor(
    driver: PostgresDriver,
    private readonly owner: DataSource,
    readonly context: TenantContext,
    readonly scope: TenantScopeOptions,
    private isolationLevel?: IsolationLevel,
    private placement: TenantScopePlacement = ON_PRIMARY,
  ) {
    super(driver, placement.replica ? 'slave' : 'master');
    // TypeORM starts its own transaction for save() only when none is active; the scope is one.
    this.isTransactionActive = true;
  }

  static {
    // Reading the manager enters a nested transaction's callback (EntityManager.transaction() reads
    // it right after startTransaction()), which tells a child from a concurrent sibling. Defined
    // once on the prototype (TypeORM declares `manager` as a plain field): an accessor defined per
    // instance gives every runner a hidden class of its own, and every TypeORM call site that
    // touches a runner then misses V8's inline caches.
    Object.defineProperty(TenantQueryRunner.prototype, 'manager', {
      configurable: true,
      enumerable: true,
      get(this: TenantQueryRunner): EntityManager {
        this.nested.enterPending();
        return (this.scopeManager ??= this.owner.createEntityManager(this));
      },
      set(this: TenantQueryRunner, manager: EntityManager) {
        this.scopeManager = manager;
      },
    });
  }

  /** Whether the scope's transaction is read-only (a write in it fails with TenantReadOnlyScopeError). */
  get readOnly(): boolean {
    return this.placement.readOnly;
  }

  /**
   * Puts a scope that has not sent anything yet on another placement (read-only, on a replica):
   * what a GraphQL query operation does once Apollo has resolved it. Refused once the scope's
   * transaction has begun.
   */
  place(placement: TenantScopePlacement): void {
    if (this.queued || this.ended) {
      throw new TenancyError('a tenant scope can change placement only before its first statement');
    }
    this.placement = placement;
    this.mode = placement.replica ? 'slave' : 'master';
  }

  /** Whether a statement of the scope may have written (false for a scope that only read). */
  get mayHaveWritten(): boolean {
    return this.wrote;
  }

  /** Whether the scope has ended (nothing can run on this runner any more). */
  get closed(): boolean {
    return this.ended;
  }

  /** Whether the scope's transaction is beginning in the current async context (BEGIN and the settings). */
  get isBeginning(): boolean {
    return work.getStore()?.beginning === this;
  }

  /**
   * Sends the settings statements of {@link RlsTransactionSubscriber} in order: on a pipelined
   * connection all at once (one flight), a lone statement as a named prepared statement
   * (`tenancy_settings`, `tenancy_settings_ro`) when `preparedSettings` is on; otherwise each with
   * `query()`, one after the other. Only while the scope's transaction begins.
   */
  writeSettings(statements: SettingsStatement[]): Promise<unknown> {
    if (work.getStore()?.beginning !== this) {
      return Promise.reject(new TenancyError('the settings are written only when a scope begins'));
    }
    if (this.pipelined) {
      if (this.scope.preparedSettings && statements.length === 1) {
        const [[text, values]] = statements;
        const name = this.readOnly ? 'tenancy_settings_ro' : 'tenancy_settings';
        return this.pg().query({ name, text, values });
      }
      return Promise.all(statements.map(([sql, values]) => this.pg().query(sql, values)));
    }
    const [[sql, values], ...rest] = statements;
    let sent: Promise<unknown> = this.query(sql, values);
    for (const [next, nextValues] of rest) sent = sent.then(() => this.query(next, nextValues));
    return sent;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeORM's own signature
  override query(sql: string, parameters?: unknown[], structured = false): Promise<any> {
    if (work.getStore()?.beginning === this) {
      if (this.isReleased) return Promise.reject(new TenantConnectionLostError());
      if (!this.pipelined) return super.query(sql, parameters, structured);
      return this.pg().query(sql, parameters);
    }
    return (
      this.refuseSessionState(sql, parameters) ??
      this.admit(async () => {
        await this.gate();
        if (this.isReleased) throw new TenantConnectionLostError();
        if (!this.wrote) this.wrote = !PLAIN_READ.test(sql) || WRITES.test(sql);
        if (this.pipelined && this.scope.pgWriteBatching) {
          holdWritesUntilNextTick(this.databaseConnection);
        }
        return this.readOnly
          ? super
              .query(sql, parameters, structured)
              .catch((e: unknown) => this.writeRefused(e, sql))
          : super.query(sql, parameters, structured);
      })
    );
  }

  /**
   * Takes the scope's connection: TypeORM's, from a replica for a scope placed on one. When the
   * replica cannot be reached, the placement decides: fall back to the primary, or fail.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeORM's own signature
  override connect(): Promise<any> {
    if (this.mode !== 'slave') return super.connect();
    return super.connect().catch((error: unknown) => {
      if (this.mode === 'slave') {
        (this.placement.replicaFailed ?? rethrow)(error);
        this.databaseConnectionPromise = undefined as unknown as Promise<unknown>;
        this.mode = 'master';
      }
      return super.connect();
    });
  }

  /** A write PostgreSQL refused in a read-only transaction (SQLSTATE 25006), as the library's error. */
  private writeRefused(error: unknown, sql: string): never {
    if (sqlStateOf(error) === '25006') {
      throw new TenantReadOnlyScopeError(sql, error);
    }
    throw error;
  }

  override stream(
    sql: string,
    parameters?: unknown[],
    onEnd?: () => void,
    onError?: (error: unknown) => void,
  ): Promise<ReadStream> {
    return (
      this.refuseSessionState(sql, parameters) ??
      this.admit(async () => {
        await this.gate();
        if (this.isReleased) throw new TenantConnectionLostError();
        if (this.pipelined) {
          throw new TenancyError(
            'streams are not supported on a pipelined connection (pg refuses cursors in pipeline mode): use a data source without extra.pipeline for streaming',
          );
        }
        return this.track(await super.stream(sql, parameters, onEnd, onError));
      })
    );
  }

  /**
   * Starts a nested transaction (a savepoint) in the scope's transaction. The scope's own
   * transaction begins with its first statement; a nested one cannot choose another isolation level
   * than the scope's, and fails loudly when asked to.
   */
  override startTransaction(isolationLevel?: IsolationLevel): Promise<void> {
    const parent = this.nested.current();
    return this.admit(async () => {
      const scopeLevel = this.isolationLevel ?? this.defaultIsolation() ?? 'READ COMMITTED';
      if (isolationLevel && isolationLevel !== scopeLevel) {
        throw new TenancyError(
          `a transaction inside a tenant scope is a savepoint of the scope's transaction and runs at its isolation level (${scopeLevel}), not ${isolationLevel}: pass { isolationLevel } to run() for the whole scope, or use Propagation.RequiresNew (TenancyTransactionalAdapter) for a transaction of its own`,
        );
      }
      await this.gate();
      this.wrote = true;
      const level = await this.nested.claim(parent, () => this.transactionDepth);
      try {
        await super.startTransaction();
      } catch (error) {
        this.nested.close(level.depth);
        throw error;
      } finally {
        this.nested.started(level);
      }
    });
  }

  /** Commits a nested transaction (RELEASE SAVEPOINT); the scope's own one ends with the scope. */
  override commitTransaction(): Promise<void> {
    return this.endNested(() => super.commitTransaction(), 'commit');
  }

  /** Rolls a nested transaction back (ROLLBACK TO SAVEPOINT); the scope's own one ends with the scope. */
  override rollbackTransaction(): Promise<void> {
    return this.endNested(() => super.rollbackTransaction(), 'roll back');
  }

  /** Does nothing: the scope returns the connection to the pool when it ends. */
  override release(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Ends the scope: waits for statements already on their way, destroys streams nobody read to the
   * end (then rolls back and throws {@link TenantStreamAbandonedError}), commits or rolls back the
   * transaction if one was begun, and returns the connection to the pool. Called by the scope's
   * owner once; later calls do nothing.
   */
  async endScope(action: 'commit' | 'rollback'): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.endSignal.resolve();
    if (!this.queued) return;
    while (this.inFlight.size) await Promise.allSettled(this.inFlight);
    const abandoned = await this.destroyStreams();
    await runAs('own', this, () => this.end(abandoned ? 'rollback' : action));
    if (abandoned) throw new TenantStreamAbandonedError();
  }

  private async end(action: 'commit' | 'rollback'): Promise<void> {
    let error: Error | undefined;
    let broken = false;
    try {
      await this.queued;
      await this.begun;
      if (this.isReleased) throw new TenantConnectionLostError();
      if (this.transactionDepth > 0) {
        const aborted = this.pg().getTransactionStatus?.() === 'E';
        const leftOpen = this.transactionDepth > 1;
        if (action === 'rollback' || aborted || leftOpen) {
          await this.rollbackAll();
          if (action === 'commit') {
            error = aborted
              ? new TenantTransactionAbortedError()
              : new TenantTransactionOwnershipError(
                  'commit with an unfinished nested transaction in',
                );
          }
        } else if (this.pipelined && !this.wrote) {
          await this.commitWithoutWaiting();
        } else if (!(await this.commitAndConfirm())) {
          error = new TenantTransactionAbortedError();
        }
      }
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
      broken = !(error instanceof TenancyError);
      if (this.transactionDepth > 0 && !broken) await this.rollbackAll().catch(() => undefined);
    } finally {
      await this.releaseConnection(broken ? error : undefined);
    }
    if (error !== undefined) throw error;
  }

  /**
   * Sends COMMIT and reports whether PostgreSQL committed: on a transaction an earlier error aborted
   * it answers with the command tag ROLLBACK (the status of pg's last ReadyForQuery can be stale
   * when a handler swallowed the error, so the tag is the reliable signal). Fires the commit events
   * as TypeORM's commitTransaction() does (the rollback events when PostgreSQL rolled back).
   */
  private async commitAndConfirm(): Promise<boolean> {
    if (this.listens('BeforeTransactionCommit'))
      await this.broadcaster.broadcast('BeforeTransactionCommit');
    this.owner.logger.logQuery('COMMIT', [], this);
    const result = await this.pg().query('COMMIT');
    this.transactionDepth = 0;
    this.isTransactionActive = false;
    if (result?.command === 'ROLLBACK') {
      if (this.listens('AfterTransactionRollback'))
        await this.broadcaster.broadcast('AfterTransactionRollback');
      return false;
    }
    if (this.listens('AfterTransactionCommit'))
      await this.broadcaster.broadcast('AfterTransactionCommit');
    return true;
  }

  /**
   * Commits a pipelined transaction that only read without waiting for PostgreSQL's answer: pg
   * keeps the COMMIT ahead of the connection's next statement. The after-commit event fires when
   * the answer arrives, which can be after the response was sent.
   */
  private async commitWithoutWaiting(): Promise<void> {
    if (this.listens('BeforeTransactionCommit'))
      await this.broadcaster.broadcast('BeforeTransactionCommit');
    const connection = this.pg();
    if (this.scope.pgWriteBatching) holdWritesUntilIdle(connection);
    this.owner.logger.logQuery('COMMIT', [], this);
    connection
      .query('COMMIT')
      .then(() =>
        this.listens('AfterTransactionCommit')
          ? this.broadcaster.broadcast('AfterTransactionCommit')
          : undefined,
      )
      .catch((e: unknown) =>
        logger.warn(`read-only COMMIT failed after the response: ${String(e)}`),
      );
    this.transactionDepth = 0;
    this.isTransactionActive = false;
  }

  /** Rolls the whole transaction back (savepoints included), firing TypeORM's rollback events. */
  private async rollbackAll(): Promise<void> {
    this.transactionDepth = 1;
    await super.rollbackTransaction();
  }

  private async releaseConnection(error?: Error): Promise<void> {
    if (error && !this.isReleased) {
      // pg-pool destroys a client released with an error instead of handing it out again.
      const release = this.releaseCallback;
      this.releaseCallback = undefined;
      release?.(error);
    }
    await super.release();
  }

  /**
   * Whether a subscriber implements the method of a transaction event. The scope broadcasts its
   * events as TypeORM's own methods do, but only when one does: TypeORM's broadcast would otherwise
   * do nothing and still cost a handful of promises (each one work for every AsyncLocalStorage of
   * the process) and an EntityManager. A subscriber added later is seen on the next event.
   */
  private listens(event: TransactionEvent): boolean {
    const method = LISTENER[event];
    return this.owner.subscribers.some(
      (subscriber) =>
        typeof (subscriber as Partial<Record<string, unknown>>)[method] === 'function',
    );
  }

  private pg(): PgConnection {
    return this.databaseConnection as PgConnection;
  }

  private defaultIsolation(): IsolationLevel | undefined {
    return (this.owner.options as { isolationLevel?: IsolationLevel }).isolationLevel;
  }

  /** Destroys the streams nobody read to the end; resolves once their cursors are closed. */
  private async destroyStreams(): Promise<boolean> {
    if (!this.streams.size) return false;
    const closing = [...this.streams].map(
      (stream) =>
        new Promise<void>((resolve) => {
          stream.once('close', () => resolve());
          stream.on('error', () => undefined);
          stream.destroy(new TenantTransactionClosedError());
        }),
    );
    this.streams.clear();
    await Promise.all(closing);
    return true;
  }

  /**
   * Runs a statement of the scope, or refuses it once the scope has ended: a statement sent then
   * would open a connection nobody releases, or run on one already handed to the next request.
   */
  private admit<T>(statement: () => Promise<T>): Promise<T> {
    if (this.ended && work.getStore()?.own !== this) {
      return Promise.reject(new TenantTransactionClosedError());
    }
    const running = runAs('own', this, statement);
    const settled = () => void this.inFlight.delete(running);
    this.inFlight.add(running);
    running.then(settled, settled);
    return running;
  }

  /** Refuses a statement that would change the connection's session beyond the transaction. */
  private refuseSessionState(sql: string, parameters?: unknown[]): Promise<never> | undefined {
    const violation = sessionStateViolation(sql, parameters);
    return violation && Promise.reject(new TenantSessionStateError(violation.what, violation.fix));
  }

  /** Keeps an open stream until it ends, so that the scope's end can destroy it if it never does. */
  private track<T>(stream: T): T {
    const readable = stream as unknown as Readable;
    if (typeof readable?.once !== 'function') return stream;
    this.streams.add(readable);
    const done = () => void this.streams.delete(readable);
    readable.once('end', done);
    readable.once('close', done);
    readable.once('error', done);
    return stream;
  }

  private async endNested(end: () => Promise<void>, what: 'commit' | 'roll back'): Promise<void> {
    if (this.transactionDepth <= 1) throw new TenantTransactionOwnershipError(what);
    const depth = this.transactionDepth;
    try {
      await end();
    } finally {
      this.nested.close(depth);
    }
  }

  private gate(): Promise<void> {
    return (this.queued ??= this.begin());
  }

  /**
   * Begins the transaction; the {@link RlsTransactionSubscriber} writes the settings on TypeORM's
   * AfterTransactionStart event. On a pipelined connection BEGIN and the settings are only queued
   * (the first statement follows them in the same flight); otherwise both are awaited.
   */
  private async begin(): Promise<void> {
    const connection = (await this.connect()) as PgConnection;
    const level = this.isolationLevel;
    if (!connection.pipeline) {
      await runAs('beginning', this, () => super.startTransaction(level));
      return;
    }
    this.pipelined = true;
    const isolation = level ?? this.defaultIsolation();
    if (isolation && !ISOLATION.has(isolation)) {
      throw new TenancyError(`unknown isolation level ${isolation}`);
    }
    if (this.listens('BeforeTransactionStart'))
      await this.broadcaster.broadcast('BeforeTransactionStart');
    if (this.scope.pgWriteBatching) holdWritesUntilNextTick(connection);
    const started = runAs('beginning', this, () => {
      const begin = connection.query(
        isolation ? `START TRANSACTION ISOLATION LEVEL ${isolation}` : 'START TRANSACTION',
      );
      this.transactionDepth = 1;
      return Promise.all([
        begin,
        this.listens('AfterTransactionStart') &&
          this.broadcaster.broadcast('AfterTransactionStart'),
      ]);
    });
    this.begun = started;
    started.catch(() => undefined);
  }
}
