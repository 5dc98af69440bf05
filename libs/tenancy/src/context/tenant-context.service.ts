import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { TenantContextMissingError } from '../errors/tenancy-errors';
import { CLS_TENANT_CONTEXT, CLS_TENANT_TOKEN } from '../tenancy.internal-constants';
import { TenantContext } from './tenant-context.interface';

/**
 * Reads the tenant, user and role of the current request or job, held in CLS (nestjs-cls). To run
 * code as a tenant, use {@link TenantRunner}.
 */
@Injectable()
export class TenantContextService {
  constructor(private readonly cls: ClsService) {}

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
   * The bearer token `TenantAuthGuard` verified for the current request or message, as received
   * (e.g. to forward it with an outgoing message); `undefined` outside a guarded handler and when
   * the context came from `resolveTenantContext` or `TenantRunner.run()`.
   */
  token(): string | undefined {
    return this.cls.isActive() ? this.cls.get(CLS_TENANT_TOKEN) : undefined;
  }
}
