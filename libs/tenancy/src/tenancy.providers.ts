/** Injection token of the options after defaults are merged. */
export const RESOLVED_TENANCY_OPTIONS = Symbol('tenancy.resolved-options');
