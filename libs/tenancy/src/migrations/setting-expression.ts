import { DEFAULT_SETTING_NAMES } from '../tenancy.constants';
import { settingLiteral } from './sql';

/**
 * How a policy reads a setting. `'sub-select'`: `(SELECT NULLIF(current_setting(...), '')::type)`,
 * which PostgreSQL evaluates once per statement (an InitPlan). `'plain'`: the same without the
 * `SELECT`, evaluated per row unless the planner folds it into an index condition; the form Citus
 * accepts in the policies of distributed and reference tables, which may contain no sub-select.
 */
export type SettingForm = 'sub-select' | 'plain';

/** Wraps a setting read in a sub-select, or only in parentheses. */
function wrap(read: string, form: SettingForm): string {
  return form === 'plain' ? `(${read})` : `(SELECT ${read})`;
}

/** `NULLIF(current_setting('app.x', true), '')::type`: NULL when the setting is missing or reset. */
function readSetting(setting: string, type: 'uuid' | 'text'): string {
  return `NULLIF(current_setting(${settingLiteral(setting)}, true), '')::${type}`;
}

/**
 * SQL that reads a context setting inside a policy: `(SELECT NULLIF(current_setting('app.x', true), '')::type)`.
 * The sub-select makes PostgreSQL evaluate it once per statement; NULLIF turns a missing or reset
 * setting ('' after a transaction that set it) into NULL, so a policy compares with NULL and matches nothing.
 * `form: 'plain'` leaves the sub-select out (for Citus, see {@link SettingForm}).
 */
export function settingExpression(
  setting: string,
  type: 'uuid' | 'text' = 'text',
  form: SettingForm = 'sub-select',
): string {
  return wrap(readSetting(setting, type), form);
}

/** The current tenant as a policy expression. Default setting: `app.tenant_id`. */
export function currentTenantExpression(
  setting: string = DEFAULT_SETTING_NAMES.tenantId,
  form: SettingForm = 'sub-select',
): string {
  return settingExpression(setting, 'uuid', form);
}

/** The current user as a policy expression. Default setting: `app.user_id`. */
export function currentUserExpression(
  setting: string = DEFAULT_SETTING_NAMES.userId,
  form: SettingForm = 'sub-select',
): string {
  return settingExpression(setting, 'uuid', form);
}

/** The current role as a policy expression. Default setting: `app.role`. */
export function currentRoleExpression(
  setting: string = DEFAULT_SETTING_NAMES.role,
  form: SettingForm = 'sub-select',
): string {
  return settingExpression(setting, 'text', form);
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
  form: SettingForm = 'sub-select',
): string {
  return wrap(`CASE WHEN ${condition} THEN ${readSetting(setting, 'uuid')} END`, form);
}
