import { Injectable, Logger } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { EntityManager } from 'typeorm';
import { PlatformNotConfiguredError, TenantContextMissingError } from '../errors/tenancy-errors';
import { TenancyError } from '../errors/tenancy.error';
import { CLS_TENANT_CONTEXT, CLS_TENANT_TRANSACTION } from '../tenancy.internal-constants';
import { TenancyRuntime } from '../tenancy.runtime';
import { TenantContext } from './tenant-context.interface';
import { validTenantContext } from './tenant-context.validation';

/**
 * The tenant, user and role of the current request or job, held in CLS (nestjs-cls), and the one
 * way to run code for a tenant outside HTTP.
 */
@Injectable()
export class TenantContextService {
  private readonly logger = new Logger('Tenancy');

  constructor(
    private readonly cls: ClsService,
    private readonly runtime: TenancyRuntime,
  ) {}

  /** The current context, or `undefined` outside any tenant scope. */
  current(): TenantContext | undefined {
    return this.cls.isActive() ? this.cls.get(CLS_TENANT_CONTEXT) : undefined;
  }

  /** The current context; throws `TenantContextMissingError` outside any tenant scope. */
  require(): TenantContext {
    const context = this.current();
    if (!context) throw new TenantContextMissingError();
    return context;
  }

  /**
   * Runs `fn` as `context` (jobs, cron, scripts, tests): every query inside goes through one
   * transaction with the context's settings, committed when `fn` resolves and rolled back when it
   * throws. Runs nest: an inner run has its own transaction, and the outer context is back after it.
   * An inner run needs a second pooled connection while the outer one holds the first.
   */
  async run<T>(context: TenantContext, fn: () => Promise<T> | T): Promise<T> {
    const valid = validTenantContext(context);
    return this.cls.run({ ifNested: 'inherit' }, async () => {
      const tx = this.runtime.open(valid);
      this.cls.set(CLS_TENANT_CONTEXT, valid);
      this.cls.set(CLS_TENANT_TRANSACTION, tx);
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        await tx
          .rollback()
          .catch((e: unknown) => this.logger.error(`rollback failed: ${String(e)}`));
        throw error;
      }
      await tx.commit();
      return result;
    });
  }

  /**
   * Cross-tenant (platform) work, explicit and logged: runs `fn` in a transaction on the platform
   * data source (`options.platform.dataSourceName`), outside any tenant context. `reason` is logged
   * with every call. Never the default: nothing else in the library reaches across tenants.
   */
  async runAsPlatform<T>(reason: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    const name = this.runtime.options.platform?.dataSourceName;
    if (!name) throw new PlatformNotConfiguredError();
    if (!reason?.trim()) throw new TenancyError('runAsPlatform needs a reason; it is logged');
    const ds = this.runtime.platformDataSource(name);
    if (ds === this.runtime.dataSource) {
      throw new TenancyError('the platform data source must not be the tenant data source');
    }
    this.logger.warn(`platform operation (cross-tenant): ${reason}`);
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.cls.set(CLS_TENANT_CONTEXT, undefined);
      this.cls.set(CLS_TENANT_TRANSACTION, undefined);
      return ds.transaction((manager) => fn(manager));
    });
  }
}
