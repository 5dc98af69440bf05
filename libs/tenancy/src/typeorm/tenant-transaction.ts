import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, QueryRunner } from 'typeorm';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenantContext } from '../context/tenant-context.interface';
import {
  TenantTransactionAbortedError,
  TenantTransactionClosedError,
  TenantTransactionOwnershipError,
} from '../errors/tenancy-errors';
import { RUNNER_CONTEXT } from '../tenancy.internal-constants';

type CreateQueryRunner = (mode?: 'master' | 'slave') => QueryRunner;

/** Statements issued while the scope's transaction begins skip the begin gate (they ARE the begin). */
const beginning = new AsyncLocalStorage<TenantTransaction>();

/**
 * One tenant-scoped unit of work (an HTTP request or a `run()` call): a single connection and a
 * single transaction, begun lazily on the first statement and ended by the scope's owner. Every
 * query runner TypeORM asks for inside the scope is this one, so repositories, EntityManager,
 * QueryBuilder, DataSource.query, relation loading, streams and nested transactions (savepoints)
 * all run after the RLS settings are written.
 */
export class TenantTransaction {
  private runner?: QueryRunner;
  private begun?: Promise<void>;
  private ended = false;

  constructor(
    private readonly create: CreateQueryRunner,
    readonly context: TenantContext,
    private isolationLevel?: IsolationLevel,
  ) {}

  /** The scope's query runner; the same instance for every caller until the scope ends. */
  queryRunner(): QueryRunner {
    if (this.ended) throw new TenantTransactionClosedError();
    return (this.runner ??= this.wrap(this.create('master')));
  }

  /** Whether any statement was sent (and so a transaction is open). */
  get started(): boolean {
    return this.begun !== undefined;
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
    const r = this.runner as ScopedRunner | undefined;
    if (!r) return;
    let error: Error | undefined;
    try {
      if (this.begun) {
        await this.begun.catch(() => undefined);
        if (r.isTransactionActive && !r.isReleased) {
          const aborted = r.databaseConnection?.getTransactionStatus?.() === 'E';
          if (action === 'commit' && r.transactionDepth === 1 && !aborted) await r.__commit();
          else await r.__rollbackAll();
          if (action === 'commit' && aborted) error = new TenantTransactionAbortedError();
        }
      }
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    } finally {
      await r.__release(error instanceof TenantTransactionAbortedError ? undefined : error);
    }
    if (error !== undefined) throw error;
    if (action === 'commit' && r.__leftOpen) {
      throw new TenantTransactionOwnershipError('commit with an unfinished nested transaction in');
    }
  }

  private gate(): Promise<void> {
    if (beginning.getStore() === this) return Promise.resolve();
    return (this.begun ??= beginning.run(this, () =>
      (this.runner as ScopedRunner).__start(this.isolationLevel),
    ));
  }

  private wrap(runner: QueryRunner): QueryRunner {
    const r = runner as ScopedRunner;
    const query = r.query.bind(r);
    const stream = r.stream.bind(r);
    const start = r.startTransaction.bind(r);
    const commit = r.commitTransaction.bind(r);
    const rollback = r.rollbackTransaction.bind(r);
    const release = r.release.bind(r);
    r.data = { ...(r.data ?? {}), [RUNNER_CONTEXT]: this.context };
    r.__start = start;
    r.__commit = commit;
    r.__release = async (err?: unknown) => {
      if (err && !r.isReleased) {
        const pgRelease = (
          r as unknown as { releasePostgresConnection?: (e: unknown) => Promise<void> }
        ).releasePostgresConnection;
        if (pgRelease) return pgRelease.call(r, err);
      }
      return release();
    };
    r.__rollbackAll = async () => {
      r.__leftOpen = r.transactionDepth > 1;
      if (r.transactionDepth > 1) {
        await query('ROLLBACK');
        r.transactionDepth = 0;
        r.isTransactionActive = false;
      } else {
        await rollback();
      }
    };
    r.query = (async (...args: Parameters<QueryRunner['query']>) => {
      await this.gate();
      return query(...args);
    }) as QueryRunner['query'];
    r.stream = async (...args: Parameters<QueryRunner['stream']>) => {
      await this.gate();
      return stream(...args);
    };
    r.startTransaction = async (isolationLevel?: IsolationLevel) => {
      if (!this.begun && isolationLevel) this.isolationLevel = isolationLevel;
      await this.gate();
      if (beginning.getStore() === this) return;
      return start(isolationLevel);
    };
    r.commitTransaction = async () => {
      if (r.transactionDepth <= 1) throw new TenantTransactionOwnershipError('commit');
      return commit();
    };
    r.rollbackTransaction = async () => {
      if (r.transactionDepth <= 1) throw new TenantTransactionOwnershipError('roll back');
      return rollback();
    };
    r.release = async () => {};
    // TypeORM starts its own transaction for save() only when none is active; the scope is one.
    r.isTransactionActive = true;
    return r;
  }
}

interface ScopedRunner extends QueryRunner {
  transactionDepth: number;
  isTransactionActive: boolean;
  __start(isolationLevel?: IsolationLevel): Promise<void>;
  __commit(): Promise<void>;
  __rollbackAll(): Promise<void>;
  __release(err?: unknown): Promise<void>;
  __leftOpen?: boolean;
  databaseConnection?: { getTransactionStatus?: () => string };
}

/** Reads the context a scoped query runner carries, if any. */
export function runnerContext(runner: QueryRunner | undefined): TenantContext | undefined {
  return runner?.data?.[RUNNER_CONTEXT] as TenantContext | undefined;
}

/** The DataSource pieces the installer needs. */
export type InstallableDataSource = Pick<DataSource, 'createQueryRunner'>;
