import { TenancyFoundation1764000000000 } from './1764000000000-TenancyFoundation';

/** Every migration of the shared database, in order. New migrations are appended here. */
export const MIGRATIONS = [TenancyFoundation1764000000000];
