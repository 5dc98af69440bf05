import { tenancyMigrations } from 'nestjs-rls-tenancy';

/** The migration helpers, bound once to this app's roles. */
export const tenancy = tenancyMigrations({ appRole: process.env.APP_DB_ROLE ?? 'app_user' });
