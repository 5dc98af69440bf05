import { TenancySettingNames } from './tenancy.options';

export type { TenancySettingNames } from './tenancy.options';

/** The setting names used when none are configured: {@link TenancySettingNames}' defaults. */
export const DEFAULT_SETTING_NAMES: Readonly<TenancySettingNames> = Object.freeze(
  new TenancySettingNames(),
);

/** The application role used when none is configured. */
export const DEFAULT_APP_ROLE = 'app_user';

/** The tenant column used when none is configured. */
export const DEFAULT_TENANT_COLUMN = 'tenant_id';
