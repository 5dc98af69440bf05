import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { PlatformNotConfiguredError } from '../errors/tenancy-errors';
import { TenancyError } from '../errors/tenancy.error';
import {
  TenantScopeRunOptions,
  TenantTransactionFactory,
} from '../typeorm/tenant-transaction.factory';
import { TenantContext } from './tenant-context.interface';
import { validTenantContext } from './tenant-context.validation';

/**
 * Runs code as a tenant outside HTTP (jobs, cron, scripts, tests), and cross-tenant (platform) work
 * when it is configured, explicitly and logged.
 */
@Injectable()
export class TenantRunner {
  private readonly logger = new Logger('Tenancy');

  constructor(private readonly transactions: TenantTransactionFactory) {}

  /**
   * Runs `fn` as `context`: every query inside goes through one transaction with the context's
   * settings, committed when `fn` resolves and rolled back when it throws. Runs nest: an inner run
   * has its own transaction on a second pooled connection, and the outer context is back after it.
   * `options.readOnly` makes the transaction read-only and puts it on a read replica when the data
   * source has some (see the module's `replicas`); `options.isolationLevel` sets its isolation.
   * Throws `InvalidTenantContextError` for a context that is not well-formed.
   */
  async run<T>(
    context: TenantContext,
    fn: () => Promise<T> | T,
    options?: TenantScopeRunOptions,
  ): Promise<T> {
    return this.transactions.runInScope(validTenantContext(context), fn, options);
  }

  /**
   * Cross-tenant (platform) work, explicit and logged: runs `fn` in a transaction on the platform
   * data source (`options.platform.dataSourceName`), outside any tenant context. `reason` is logged
   * with every call. Never the default: nothing else in the library reaches across tenants.
   */
  async runAsPlatform<T>(reason: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const name = this.transactions.options.platform?.dataSourceName;
    if (!name) throw new PlatformNotConfiguredError();
    if (!reason?.trim()) throw new TenancyError('runAsPlatform needs a reason; it is logged');
    const ds = this.transactions.namedDataSource(name);
    if (ds === this.transactions.dataSource) {
      throw new TenancyError('the platform data source must not be the tenant data source');
    }
    this.logger.warn(`platform operation (cross-tenant): ${reason}`);
    return this.transactions.runWithoutContext(() => ds.transaction((manager) => fn(manager)));
  }
}
