import {
  Propagation,
  TransactionalAdapter,
  TransactionalAdapterOptions,
  TransactionHost,
} from '@nestjs-cls/transactional';
import type { DataSource, EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';
import { TenancyConfigurationError, TenancyError } from '../errors/tenancy.error';
import { TenancyDataSource } from '../typeorm/tenancy-data-source';
import { TenantQueryRunner } from '../typeorm/tenant-query-runner';

/** Options of a transaction started through @nestjs-cls/transactional. */
export interface TenancyTransactionOptions {
  /**
   * Isolation level of a new transaction (outside a scope, or `Propagation.RequiresNew` inside
   * one). A savepoint (`Propagation.Nested`) cannot change it: asking for another level there
   * throws a TenancyError.
   */
  isolationLevel: IsolationLevel;
}

/** Options of {@link TenancyTransactionalAdapter}. */
export interface TenancyTransactionalAdapterOptions {
  /** Injection token of the TenancyDataSource, e.g. `getDataSourceToken()`. Required. */
  dataSourceToken: unknown;
  /** The `connectionName` given to ClsPluginTransactional, if any. Default: none (the default). */
  connectionName?: string;
  /** Options every transaction starts with. Default: none. */
  defaultTxOptions?: Partial<TenancyTransactionOptions>;
}

/**
 * The @nestjs-cls/transactional adapter for a {@link TenancyDataSource}: what TypeORM's adapter
 * does, plus the meaning of each propagation inside a tenant scope. The scope's transaction is the
 * TransactionHost's active one (`isTransactionActive()` is true; Required, Supports and Mandatory
 * join it; Never throws); Nested is a savepoint in it; RequiresNew runs in a second tenant
 * transaction with the same context on another pooled connection, committed on its own;
 * NotSupported has no meaning there (every statement of a scope needs the tenant's transaction)
 * and reading `TransactionHost.tx` in it throws a TenancyError.
 */
export class TenancyTransactionalAdapter implements TransactionalAdapter<
  DataSource,
  EntityManager,
  TenancyTransactionOptions
> {
  /** The DataSource's injection token (read by ClsPluginTransactional). */
  readonly connectionToken: unknown;
  /** Options every transaction starts with (read by ClsPluginTransactional). */
  readonly defaultTxOptions?: Partial<TenancyTransactionOptions>;
  private readonly connectionName?: string;

  constructor(options: TenancyTransactionalAdapterOptions) {
    this.connectionToken = options.dataSourceToken;
    this.defaultTxOptions = options.defaultTxOptions;
    this.connectionName = options.connectionName;
  }

  /** Called once by ClsPluginTransactional with the DataSource. */
  optionsFactory = (
    dataSource: DataSource,
  ): TransactionalAdapterOptions<EntityManager, TenancyTransactionOptions> => {
    if (!(dataSource instanceof TenancyDataSource)) {
      throw new TenancyConfigurationError(
        'TenancyTransactionalAdapter needs a TenancyDataSource (TypeOrmModule.forRootAsync({ ..., dataSourceFactory: createTenancyDataSource }))',
      );
    }
    let entering: TenantQueryRunner | undefined;
    dataSource.addScopeWrapper((scope, work) => {
      entering = scope;
      try {
        return TransactionHost.getInstance(this.connectionName).withTransaction(
          Propagation.RequiresNew,
          work,
        );
      } finally {
        entering = undefined;
      }
    });
    return {
      wrapWithTransaction: async (options, fn, setClient) => {
        const scope = dataSource.currentScope();
        if (scope && entering === scope) {
          entering = undefined;
          setClient(scope.manager);
          return fn();
        }
        if (scope) {
          return dataSource.runInNewScope(scope.context, () => fn(), options?.isolationLevel);
        }
        return dataSource.transaction(options?.isolationLevel, (manager) => {
          setClient(manager);
          return fn();
        });
      },
      wrapWithNestedTransaction: async (options, fn, setClient, client) =>
        client.transaction(options?.isolationLevel, (manager) => {
          setClient(manager);
          return fn();
        }),
      getFallbackInstance: () => {
        if (dataSource.currentScope()) {
          throw new TenancyError(
            "no transaction-less work in a tenant scope (Propagation.NotSupported): every statement of a scope needs the tenant's transaction; use Propagation.RequiresNew for work committed on its own",
          );
        }
        return dataSource.manager;
      },
    };
  };
}
