import { DEFAULT_SETTING_NAMES } from '../tenancy.constants';
import { settingLiteral } from './sql';

/**
 * SQL that reads a context setting inside a policy: `(SELECT NULLIF(current_setting('app.x', true), '')::type)`.
 * The sub-select makes PostgreSQL evaluate it once per statement; NULLIF turns a missing or reset
 * setting ('' after a transaction that set it) into NULL, so a policy compares with NULL and matches nothing.
 */
export function settingExpression(setting: string, type: 'uuid' | 'text' = 'text'): string {
  return `(SELECT NULLIF(current_setting(${settingLiteral(setting)}, true), '')::${type})`;
}

/** The current tenant as a policy expression. Default setting: `app.tenant_id`. */
export function currentTenantExpression(setting: string = DEFAULT_SETTING_NAMES.tenantId): string {
  return settingExpression(setting, 'uuid');
}

/** The current user as a policy expression. Default setting: `app.user_id`. */
export function currentUserExpression(setting: string = DEFAULT_SETTING_NAMES.userId): string {
  return settingExpression(setting, 'uuid');
}

/** The current role as a policy expression. Default setting: `app.role`. */
export function currentRoleExpression(setting: string = DEFAULT_SETTING_NAMES.role): string {
  return settingExpression(setting, 'text');
}

/**
 * The current tenant when `condition` holds, else NULL, as one sub-select:
 * `(SELECT CASE WHEN <condition> THEN <current tenant> END)`. Write a role check as
 * `tenant_id = currentTenantWhenExpression("<role check>")` instead of a bare `<role check>`:
 * the planner merges that equality with the tenant guard into a one-time check, while a policy
 * clause that names no column is estimated to keep about 1 row in 200 and shrinks every estimate
 * of the table (and of joins through it) by as much. Default setting: `app.tenant_id`.
 */
export function currentTenantWhenExpression(
  condition: string,
  setting: string = DEFAULT_SETTING_NAMES.tenantId,
): string {
  return `(SELECT CASE WHEN ${condition} THEN NULLIF(current_setting(${settingLiteral(setting)}, true), '')::uuid END)`;
}
