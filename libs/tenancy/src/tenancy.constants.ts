/** Names of the PostgreSQL settings (GUCs) that carry the request context into a transaction. */
export interface TenancySettingNames {
  /** Setting that holds the tenant id. Default: `app.tenant_id`. */
  tenantId: string;
  /** Setting that holds the acting user id. Default: `app.user_id`. */
  userId: string;
  /** Setting that holds the acting role. Default: `app.role`. */
  role: string;
  /** Setting that holds the request (or job run) id, for audit rows. Default: `app.request_id`. */
  requestId: string;
}

/** The setting names used when none are configured. */
export const DEFAULT_SETTING_NAMES: Readonly<TenancySettingNames> = Object.freeze({
  tenantId: 'app.tenant_id',
  userId: 'app.user_id',
  role: 'app.role',
  requestId: 'app.request_id',
});

/** The application role used when none is configured. */
export const DEFAULT_APP_ROLE = 'app_user';

/** The tenant column used when none is configured. */
export const DEFAULT_TENANT_COLUMN = 'tenant_id';
