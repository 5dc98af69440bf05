/** CLS key of the current TenantContext. Internal: use TenantContextService. */
export const CLS_TENANT_CONTEXT = Symbol('tenancy.context');
/** CLS key of the current tenant scope's TenantQueryRunner. */
export const CLS_TENANT_TRANSACTION = Symbol('tenancy.transaction');
/** Metadata key written by @Roles(). */
export const ROLES_METADATA = 'tenancy:roles';
/** Prefix of the passport name each module instance registers its JWT strategy under. */
export const TENANCY_JWT_STRATEGY_NAME = 'tenancy-jwt';
/** Injection token of the module instance's JWT strategy (a TenancyJwtStrategy). */
export const TENANCY_JWT_STRATEGY = Symbol('tenancy.jwt-strategy');
/** CLS key of the bearer token the guard verified for the current request or message. */
export const CLS_TENANT_TOKEN = Symbol('tenancy.token');
/** Metadata key written by @TenantScoped(options): the scope options of a handler or controller. */
export const TENANT_SCOPE_METADATA = 'tenancy:scope';
