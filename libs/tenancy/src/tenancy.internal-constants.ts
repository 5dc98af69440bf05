/** CLS key of the current TenantContext. Internal: use TenantContextService. */
export const CLS_TENANT_CONTEXT = Symbol('tenancy.context');
/** CLS key of the current TenantTransaction scope. */
export const CLS_TENANT_TRANSACTION = Symbol('tenancy.transaction');
/** Key in `QueryRunner.data` under which a scoped runner carries its TenantContext. */
export const RUNNER_CONTEXT = '__tenancyContext';
/** Metadata key written by @Roles(). */
export const ROLES_METADATA = 'tenancy:roles';
/** Name of the passport strategy the library registers. */
export const TENANCY_JWT_STRATEGY = 'tenancy-jwt';
/** Marks a DataSource whose createQueryRunner is already installed. */
export const INSTALLED = Symbol('tenancy.installed');
