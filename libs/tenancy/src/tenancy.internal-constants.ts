/** CLS key of the current TenantContext. Internal: use TenantContextService. */
export const CLS_TENANT_CONTEXT = Symbol('tenancy.context');
/** CLS key of the current tenant scope's TenantQueryRunner. */
export const CLS_TENANT_TRANSACTION = Symbol('tenancy.transaction');
/** Metadata key written by @Roles(). */
export const ROLES_METADATA = 'tenancy:roles';
/** Name of the passport strategy the library registers. */
export const TENANCY_JWT_STRATEGY = 'tenancy-jwt';
