import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantContextMissingError } from '../errors/tenancy-errors';
import { CLS_TENANT_CONTEXT } from '../tenancy.internal-constants';

/**
 * Injects the request's TenantContext, or one of its fields: `@CurrentTenant() ctx`,
 * `@CurrentTenant('userId') userId`. Only on @TenantScoped() handlers; elsewhere it throws.
 */
export const CurrentTenant = createParamDecorator(
  (field: keyof TenantContext | undefined, _ctx: ExecutionContext) => {
    const cls = ClsServiceManager.getClsService();
    const context = cls.isActive()
      ? cls.get<TenantContext | undefined>(CLS_TENANT_CONTEXT)
      : undefined;
    if (!context) throw new TenantContextMissingError();
    return field ? context[field] : context;
  },
);
