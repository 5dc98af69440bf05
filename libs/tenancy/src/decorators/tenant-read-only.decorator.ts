import { SetMetadata } from '@nestjs/common';
import { TENANT_SCOPE_METADATA } from '../tenancy.internal-constants';
import type { TenantScopedOptions } from './tenant-scoped.decorator';

/**
 * Marks one handler of a `@TenantScoped()` controller read-only (or, with `false`, a writing
 * handler of a `@TenantScoped({ readOnly: true })` one): the same as `@TenantScoped({ readOnly })`
 * on the handler, without applying the guards and the interceptor a second time.
 */
export function TenantReadOnly(readOnly = true): MethodDecorator {
  const options: Required<TenantScopedOptions> = { readOnly };
  return SetMetadata(TENANT_SCOPE_METADATA, options);
}
