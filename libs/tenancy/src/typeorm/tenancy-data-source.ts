import { DataSource, DataSourceOptions, QueryRunner, ReplicationMode } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantTransactionClosedError } from '../errors/tenancy-errors';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { RlsTransactionSubscriber } from './rls-transaction.subscriber';
import { TenantQueryRunner, TenantScopeOptions, TenantScopePlacement } from './tenant-query-runner';
import { TenantRelationLoader } from './tenant-relation-loader';

/** What a {@link TenancyDataSource} asks of TenancyModule on every createQueryRunner(). */
export interface TenantScopeLookup {
  /** The runner of the current async context's tenant scope, if any. */
  current(): TenantQueryRunner | undefined;
  /** Throws when a tenant context exists without a scope; returns otherwise. */
  assertNoOrphanContext(): void;
  /** Runs `fn` in a new tenant scope of its own (own connection, own transaction). */
  runInScope<T>(
    context: TenantContext,
    fn: () => Promise<T>,
    options?: { isolationLevel?: IsolationLevel },
  ): Promise<T>;
}

/** Runs a scope's work; a wrapper may set up state around it (it must call `work` once). */
export type TenantScopeWrapper = <T>(
  scope: TenantQueryRunner,
  work: () => Promise<T>,
) => Promise<T>;

/**
 * The TypeORM DataSource of a tenant-scoped app (PostgreSQL only). Inside a tenant scope,
 * `createQueryRunner()` returns the scope's {@link TenantQueryRunner}, so every repository,
 * EntityManager, QueryBuilder and `query()` call runs in the scope's transaction after the context
 * is written; outside one it returns TypeORM's own runner (no settings: RLS shows no rows, and a
 * tenant context without its scope is refused). It registers {@link RlsTransactionSubscriber}
 * before the app's subscribers and loads lazy relations with {@link TenantRelationLoader}.
 * Build it with {@link createTenancyDataSource}, the `dataSourceFactory` of
 * `TypeOrmModule.forRootAsync()`, or `new TenancyDataSource(options)` for scripts and CLIs.
 */
export class TenancyDataSource extends DataSource {
  override readonly relationLoader: TenantRelationLoader = new TenantRelationLoader(this);
  private scopes?: TenantScopeLookup;
  private readonly wrappers: TenantScopeWrapper[] = [];

  constructor(options: DataSourceOptions) {
    if (options?.type !== 'postgres') {
      throw new TenancyConfigurationError(
        `TenancyDataSource supports PostgreSQL only (type: 'postgres'), got type: '${String(options?.type)}'`,
      );
    }
    super(options);
  }

  /** Builds TypeORM's metadata, then puts the settings writer first among the subscribers. */
  protected override async buildMetadatas(): Promise<void> {
    await super.buildMetadatas();
    this.subscribers.unshift(new RlsTransactionSubscriber());
  }

  /**
   * Connects the DataSource to the TenancyModule whose scopes it serves (done by the module at
   * start-up). One module per DataSource: a second one is refused.
   */
  useScopes(scopes: TenantScopeLookup): void {
    if (this.scopes && this.scopes !== scopes) {
      throw new TenancyConfigurationError(
        'this TenancyDataSource already serves another TenancyModule: give each app its own data source',
      );
    }
    this.scopes = scopes;
  }

  /** The runner of the current tenant scope, if any. */
  currentScope(): TenantQueryRunner | undefined {
    return this.scopes?.current();
  }

  /**
   * Runs `fn` in a new tenant scope for `context`, on a connection of its own and committed on its
   * own (what `Propagation.RequiresNew` means inside a scope).
   */
  runInNewScope<T>(
    context: TenantContext,
    fn: () => Promise<T>,
    isolationLevel?: IsolationLevel,
  ): Promise<T> {
    if (!this.scopes) {
      throw new TenancyConfigurationError(
        'this TenancyDataSource serves no TenancyModule yet: import TenancyModule.forRoot() in the app',
      );
    }
    return this.scopes.runInScope(context, fn, { isolationLevel });
  }

  /**
   * Adds a wrapper every tenant scope's work runs in, outermost first (used by
   * TenancyTransactionalAdapter to make the scope's transaction the TransactionHost's).
   */
  addScopeWrapper(wrapper: TenantScopeWrapper): void {
    this.wrappers.push(wrapper);
  }

  /** Runs a scope's work inside the registered wrappers. */
  wrapScope<T>(scope: TenantQueryRunner, work: () => Promise<T>): Promise<T> {
    let run = work;
    for (let i = this.wrappers.length - 1; i >= 0; i--) {
      const inner = run;
      const wrapper = this.wrappers[i];
      run = () => wrapper(scope, inner);
    }
    return run();
  }

  /** Inside a tenant scope, the scope's runner; otherwise a new TypeORM runner without context. */
  override createQueryRunner(mode: ReplicationMode = 'master'): QueryRunner {
    const scope = this.scopes?.current();
    if (scope) {
      if (scope.closed) throw new TenantTransactionClosedError();
      return scope;
    }
    this.scopes?.assertNoOrphanContext();
    return super.createQueryRunner(mode);
  }

  /**
   * The runner of a new tenant scope: no connection is taken until its first statement, from the
   * primary, or from a replica for a scope `placement` puts on one.
   */
  createTenantQueryRunner(
    context: TenantContext,
    scope: TenantScopeOptions,
    isolationLevel?: IsolationLevel,
    placement?: TenantScopePlacement,
  ): TenantQueryRunner {
    return new TenantQueryRunner(
      this.driver as PostgresDriver,
      this,
      context,
      scope,
      isolationLevel,
      placement,
    );
  }
}

/**
 * Builds and initialises a {@link TenancyDataSource}: pass it as the `dataSourceFactory` of
 * `TypeOrmModule.forRootAsync({ useFactory: () => ({ type: 'postgres', ... }), dataSourceFactory:
 * createTenancyDataSource })`.
 */
export async function createTenancyDataSource(options?: DataSourceOptions): Promise<DataSource> {
  if (!options) {
    throw new TenancyConfigurationError(
      'createTenancyDataSource needs the DataSource options (TypeOrmModule.forRootAsync passes them from useFactory)',
    );
  }
  return new TenancyDataSource(options).initialize();
}
