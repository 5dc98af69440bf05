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
