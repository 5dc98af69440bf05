import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { ClsService } from 'nestjs-cls';
import { DataSource } from 'typeorm';
import { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantTransactionMissingError } from '../errors/tenancy-errors';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { CLS_TENANT_CONTEXT, CLS_TENANT_TRANSACTION } from '../tenancy.internal-constants';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { TenancyDataSource, TenantScopeLookup } from './tenancy-data-source';
import { ReplicaRouter } from './replica-router';
import {
  ON_PRIMARY,
  READ_ONLY_ON_PRIMARY,
  TenantQueryRunner,
  TenantScopeOptions,
} from './tenant-query-runner';

/** Options of one tenant scope. */
export interface TenantScopeRunOptions {
  /** Isolation level of the scope's transaction. Default: the DataSource's (READ COMMITTED). */
  isolationLevel?: IsolationLevel;
  /**
   * Run the scope in a read-only transaction, on a read replica when the data source has
   * `replication` configured and the replicas can serve it (see the module's `replicas` option).
   * A write in it fails with `TenantReadOnlyScopeError`. Default: `false`.
   */
  readOnly?: boolean;
}

/**
 * Internal: connects the app's {@link TenancyDataSource} to the current async context and opens
 * tenant transactions (scopes) in it. {@link TenantRunner} and the HTTP interceptor go through
 * {@link TenantTransactionFactory.runInScope}; the DataSource asks {@link current} on every
 * createQueryRunner().
 */
@Injectable()
export class TenantTransactionFactory implements TenantScopeLookup {
  private readonly logger = new Logger('Tenancy');
  private ds?: TenancyDataSource;
  private router?: ReplicaRouter;
  private scopeOptions: TenantScopeOptions;

  constructor(
    private readonly cls: ClsService,
    private readonly moduleRef: ModuleRef,
    @Inject(RESOLVED_TENANCY_OPTIONS) readonly options: ResolvedTenancyOptions,
  ) {
    this.scopeOptions = {
      settings: options.settings,
      preparedSettings: options.preparedSettings,
      requestRoleFunction: options.requestRoleFunction,
      pgWriteBatching: options.pgWriteBatching,
      contextStatement: options.contextStatement,
    };
  }

  /** The application's DataSource, connected to this module's scopes. */
  get dataSource(): TenancyDataSource {
    return (this.ds ??= this.connect());
  }

  /** Where read-only scopes run (the data source's replicas, while they are healthy). */
  get replicas(): ReplicaRouter {
    return (this.router ??= new ReplicaRouter(this.dataSource, this.options.replicas));
  }

  /** A DataSource by its TypeOrmModule name (the platform connection of runAsPlatform()). */
  namedDataSource(name: string): DataSource {
    return this.moduleRef.get<DataSource>(getDataSourceToken(name), { strict: false });
  }

  /** The runner of the current async context's tenant scope, if any. */
  current(): TenantQueryRunner | undefined {
    return this.cls.isActive() ? this.cls.get(CLS_TENANT_TRANSACTION) : undefined;
  }

  /** Throws when a tenant context exists without a scope (a query must not run outside it). */
  assertNoOrphanContext(): void {
    if (this.cls.isActive() && this.cls.get(CLS_TENANT_CONTEXT))
      throw new TenantTransactionMissingError();
  }

  /**
   * Runs `fn` in a new tenant scope for a validated `context`: one transaction on its own pooled
   * connection, begun by the first statement, committed when `fn` resolves and rolled back when it
   * throws. The DataSource's scope wrappers (e.g. the TransactionHost of
   * TenancyTransactionalAdapter) see the scope first. A read-only scope is placed by the
   * {@link ReplicaRouter}; a scope that wrote is remembered for read-your-writes once committed.
   */
  runInScope<T>(
    context: TenantContext,
    fn: () => Promise<T> | T,
    options: TenantScopeRunOptions = {},
  ): Promise<T> {
    const ds = this.dataSource;
    return this.cls.run({ ifNested: 'inherit' }, async () => {
      const placement = !options.readOnly
        ? ON_PRIMARY
        : this.replicas.replicated
          ? await this.replicas.place(context)
          : READ_ONLY_ON_PRIMARY;
      const scope = ds.createTenantQueryRunner(
        context,
        this.scopeOptions,
        options.isolationLevel,
        placement,
      );
      this.cls.set(CLS_TENANT_CONTEXT, context);
      this.cls.set(CLS_TENANT_TRANSACTION, scope);
      let result: T;
      try {
        result = await ds.wrapScope(scope, async () => fn());
      } catch (error) {
        await scope
          .endScope('rollback')
          .catch((e: unknown) => this.logger.error(`rollback failed: ${String(e)}`));
        throw error;
      }
      await scope.endScope('commit');
      if (!scope.readOnly && scope.mayHaveWritten) this.replicas.noteWrite(context);
      return result;
    });
  }

  /**
   * Makes the current scope read-only, and puts it on a replica when they can serve it, before it
   * sends its first statement (GraphQL query operations, once the operation is known). Does
   * nothing outside a scope or in one already read-only.
   */
  async makeCurrentScopeReadOnly(): Promise<void> {
    const scope = this.current();
    if (!scope || scope.readOnly) return;
    scope.place(await this.replicas.place(scope.context));
  }

  /** Runs `fn` outside any tenant context (the platform path). */
  runWithoutContext<T>(fn: () => Promise<T>): Promise<T> {
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.cls.set(CLS_TENANT_CONTEXT, undefined);
      this.cls.set(CLS_TENANT_TRANSACTION, undefined);
      return fn();
    });
  }

  private connect(): TenancyDataSource {
    const name = this.options.dataSourceName;
    const ds = this.moduleRef.get<DataSource>(getDataSourceToken(name), {
      strict: false,
    });
    if (!(ds instanceof TenancyDataSource)) {
      throw new TenancyConfigurationError(
        `the TypeORM data source "${name}" is not a TenancyDataSource: declare it with TypeOrmModule.forRootAsync({ useFactory: () => ({ type: 'postgres', ... }), dataSourceFactory: createTenancyDataSource })`,
      );
    }
    if (!ds.isInitialized) {
      throw new TenancyConfigurationError(
        `the TypeORM data source "${name}" is not initialised: import TypeOrmModule.forRootAsync() before TenancyModule`,
      );
    }
    ds.useScopes(this);
    this.logger.log(`tenant scopes connected to data source "${name}"`);
    return ds;
  }
}
