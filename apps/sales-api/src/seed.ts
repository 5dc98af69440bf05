import { Client } from 'pg';
import { SALES_SEED, SalesSeedTenant } from './seed-data';

async function seedTenant(owner: Client, t: SalesSeedTenant): Promise<void> {
  const admin = t.members.find((m) => m.role === 'admin')!;
  await owner.query('BEGIN');
  try {
    await owner.query(
      `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true),
              set_config('app.role', 'admin', true)`,
      [t.tenantId, admin.userId],
    );
    for (const m of t.members) {
      await owner.query(
        `INSERT INTO sales.team_members (tenant_id, user_id, name, manager_id, manager_chain)
         SELECT $1, $2, $3, $4,
                (SELECT m.chain FROM sales.team_members m WHERE m.tenant_id = $1 AND m.user_id = $4)
          WHERE NOT EXISTS (SELECT FROM sales.team_members m WHERE m.tenant_id = $1 AND m.user_id = $2)
         ON CONFLICT (tenant_id, user_id) DO NOTHING`,
        [t.tenantId, m.userId, m.name, m.managerId],
      );
    }
    for (const a of t.accounts) {
      await owner.query(
        `INSERT INTO sales.accounts (tenant_id, id, name, domain) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, id) DO NOTHING`,
        [t.tenantId, a.id, a.name, a.domain],
      );
    }
    for (const d of t.deals) {
      await owner.query(
        `INSERT INTO sales.deals (tenant_id, id, account_id, title, amount, stage, owner_id, owner_chain)
         SELECT $1, $2, $3, $4, $5, $6, $7, m.chain
           FROM sales.team_members m WHERE m.tenant_id = $1 AND m.user_id = $7
         ON CONFLICT (tenant_id, id) DO NOTHING`,
        [t.tenantId, d.id, d.accountId, d.title, d.amount, d.stage, d.ownerId],
      );
    }
    await owner.query('COMMIT');
  } catch (error) {
    await owner.query('ROLLBACK');
    throw error;
  }
}

/**
 * Idempotent demo data for sales-api, written as the owner inside per-tenant transactions (FORCE
 * RLS applies to the owner too, so each transaction carries the tenant and the admin role). Rows
 * that exist are left as they are (a member moved through the API stays where they are); rows
 * deleted through the API come back. Safe on every `npm run demo`.
 */
export async function seedSales(owner: Client): Promise<void> {
  for (const tenant of SALES_SEED) await seedTenant(owner, tenant);
}
