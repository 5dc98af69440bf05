/** Who is acting, for which tenant: the values the RLS policies read. */
export interface TenantContext {
  /** Tenant id (uuid); written to the tenant setting (`app.tenant_id`). */
  readonly tenantId: string;
  /** Acting user id (uuid); written to the user setting (`app.user_id`). */
  readonly userId: string;
  /** Acting role; written to the role setting (`app.role`). */
  readonly role: string;
  /** Request or job-run id; written to the request-id setting (`app.request_id`) for audit rows. */
  readonly requestId?: string;
}
