import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { QueryRunner } from 'typeorm';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenantContext } from '../context/tenant-context.interface';
import {
  TenantConnectionLostError,
  TenantSessionStateError,
  TenantStreamAbandonedError,
  TenantTransactionAbortedError,
  TenantTransactionClosedError,
  TenantTransactionOwnershipError,
} from '../errors/tenancy-errors';
import { TenancyError } from '../errors/tenancy.error';
import { TenancySettingNames } from '../tenancy.constants';
import { RUNNER_CONTEXT } from '../tenancy.internal-constants';
import { holdWritesUntilIdle, holdWritesUntilNextTick } from './pipeline-flights';
import { settingsStatement } from './rls-transaction.subscriber';
import { sessionStateViolation } from './session-state.guard';

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

/** A promise and the function that resolves it. */
interface Signal {
  promise: Promise<void>;
  resolve(): void;
}

function signal(): Signal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A nested transaction (savepoint) open on the scope's connection. */
interface NestedLevel {
  /** The runner's transactionDepth once this level is started. */
  depth: number;
  /** Whether its callback was entered (EntityManager.transaction); a manual start is not. */
  entered: boolean;
  /** Resolved once its SAVEPOINT was sent (or failed). */
  started: Signal;
  /** Resolved once it was committed or rolled back. */
  closed: Signal;
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
/** The nested transaction (savepoint) whose callback the current code runs in, if any. */
const nesting = new AsyncLocalStorage<NestedLevel>();
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
  /** Streams opened in the scope and not yet ended: the scope's end destroys them. */
  private readonly streams = new Set<Readable>();
  /** Nested transactions open on the connection, outermost first. */
  private readonly levels: NestedLevel[] = [];
  /** A level just started whose callback has not been entered yet. */
  private pendingLevel?: NestedLevel;
  /** Resolved when the scope ends: a nested transaction waiting for its turn gives up. */
  private readonly endSignal = signal();
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
    this.endSignal.resolve();
    const r = this.runner;
    if (!r) return;
    // A statement admitted before the end may still be on its way to pg (TypeORM awaits its
    // BeforeQuery subscribers first): it must reach this connection before COMMIT and release.
    while (this.inFlight.size) await Promise.allSettled(this.inFlight);
    const abandoned = await this.destroyStreams();
    await own.run(this, () => this.end(r, abandoned ? 'rollback' : action));
    if (abandoned) throw new TenantStreamAbandonedError();
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

  /** Refuses a statement that would change the connection's session beyond the transaction. */
  private refuseSessionState(sql: string, parameters?: unknown[]): Promise<never> | undefined {
    if (beginning.getStore() === this) return undefined;
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

  /**
   * Claims the next nested level for a transaction started from `parent` (the level whose callback
   * the caller runs in, if any), once it may send its SAVEPOINT on the shared connection: right
   * away when `parent` is the innermost open level (a child) or after a manual
   * `startTransaction()`; otherwise (a sibling started concurrently, e.g. two
   * dataSource.transaction() in one Promise.all) once the open ones close, so that savepoints always
   * nest. The check and the claim happen without a pause between them.
   */
  private async claimLevel(r: ScopedRunner, parent: NestedLevel | undefined): Promise<NestedLevel> {
    for (;;) {
      if (this.ended) throw new TenantTransactionClosedError();
      const innermost = this.levels[this.levels.length - 1];
      if (!innermost || innermost === parent) return this.pushLevel(r);
      if (!innermost.entered) {
        // EntityManager.transaction() enters its callback within the microtasks after the
        // SAVEPOINT; a level still not entered a macrotask later was started by hand, and what
        // follows nests in it as TypeORM would nest it.
        await innermost.started.promise;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.ended) throw new TenantTransactionClosedError();
        if (!innermost.entered && this.levels[this.levels.length - 1] === innermost) {
          return this.pushLevel(r);
        }
        continue;
      }
      await Promise.race([innermost.closed.promise, this.endSignal.promise]);
    }
  }

  private pushLevel(r: ScopedRunner): NestedLevel {
    const level: NestedLevel = {
      depth: r.transactionDepth + 1,
      entered: false,
      started: signal(),
      closed: signal(),
    };
    this.levels.push(level);
    return level;
  }

  /** Closes the nested levels at `depth` and deeper (a commit or rollback of that savepoint). */
  private closeLevels(depth: number): void {
    while (this.levels.length && this.levels[this.levels.length - 1].depth >= depth) {
      this.levels.pop()!.closed.resolve();
    }
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
      this.refuseSessionState(sql, parameters) ??
      this.admit(async () => {
        await this.gate();
        if (r.isReleased) throw new TenantConnectionLostError();
        if (!this.wrote && beginning.getStore() !== this)
          this.wrote = !PLAIN_READ.test(sql) || WRITES.test(sql);
        if (this.pipelined) holdWritesUntilNextTick(r.databaseConnection);
        return (o.query as AnyQuery).call(r, sql, parameters, structured);
      })) as QueryRunner['query'];
    r.stream = (...args: Parameters<QueryRunner['stream']>) =>
      this.refuseSessionState(args[0], args[1]) ??
      this.admit(async () => {
        await this.gate();
        if (r.isReleased) throw new TenantConnectionLostError();
        if (this.pipelined) {
          throw new TenancyError(
            'streams are not supported on a pipelined connection (pg refuses cursors in pipeline mode): use a data source without extra.pipeline for streaming',
          );
        }
        return this.track(await o.stream.apply(r, args));
      });
    r.startTransaction = (isolationLevel?: IsolationLevel) => {
      const parent = nesting.getStore();
      return this.admit(async () => {
        if (!this.queued && isolationLevel) this.isolationLevel = isolationLevel;
        await this.gate();
        if (beginning.getStore() === this) return;
        this.wrote = true;
        const level = await this.claimLevel(r, parent);
        try {
          await o.start.call(r, isolationLevel);
        } catch (error) {
          this.closeLevels(level.depth);
          throw error;
        } finally {
          level.started.resolve();
        }
        this.pendingLevel = level;
        // Only the read of runner.manager that follows right away enters the level's callback.
        setImmediate(() => {
          if (this.pendingLevel === level) this.pendingLevel = undefined;
        });
      });
    };
    // Ending a nested transaction (RELEASE or ROLLBACK TO its savepoint) closes its level; the
    // scope's own transaction is ended by the scope alone.
    const endNested =
      (end: () => Promise<void>, what: 'commit' | 'roll back') => async (): Promise<void> => {
        if (r.transactionDepth <= 1) throw new TenantTransactionOwnershipError(what);
        const depth = r.transactionDepth;
        try {
          await end.call(r);
        } finally {
          this.closeLevels(depth);
        }
      };
    r.commitTransaction = endNested(o.commit, 'commit');
    r.rollbackTransaction = endNested(o.rollback, 'roll back');
    const manager = r.manager;
    Object.defineProperty(r, 'manager', {
      configurable: true,
      enumerable: true,
      get: () => {
        const level = this.pendingLevel;
        if (level) {
          this.pendingLevel = undefined;
          level.entered = true;
          nesting.enterWith(level);
        }
        return manager;
      },
    });
    r.release = async () => {};
    // TypeORM starts its own transaction for save() only when none is active; the scope is one.
    r.isTransactionActive = true;
    return r;
  }
}
