// The leak-test kit (`nestjs-rls-tenancy/testing`): for tests only, never imported by the library.

export { checkTenantIsolation } from './tenant-isolation.check';
export type { NestApplicationLike, TenantIsolationTarget } from './tenant-isolation.check';
export { expectTenantIsolation, formatIsolationFindings } from './expect-tenant-isolation';
export { TenantIsolationOptions } from './tenant-isolation.options';
export { TenantIsolationError } from './tenant-isolation.error';
export type {
  IsolationFinding,
  IsolationFindingCode,
  IsolationProbeCode,
  IsolationSeverity,
} from './isolation-finding';
