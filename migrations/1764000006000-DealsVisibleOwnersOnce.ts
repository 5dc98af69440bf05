import { MigrationInterface, QueryRunner } from 'typeorm';
import { ADMIN, VISIBLE_OWNERS } from './1764000002000-SalesSchema';

/** The visible owners built by one scalar sub-select: one InitPlan per statement, never per row. */
export const VISIBLE_OWNERS_ONCE = `((SELECT ${VISIBLE_OWNERS})::uuid[])`;

/**
 * The deals policy computes the caller's visible owners ONCE per statement. Before, only its parts
 * were sub-selects: the CASE around them and `array_append` were evaluated again for every row
 * wherever `owner_id = ANY (...)` was a filter rather than an index condition (PostgreSQL 15 and
 * 16 planned it so), which copied the manager's whole subtree array per row: on the benchmark's
 * data, a manager's list took 1.5 s on PostgreSQL 15 instead of 10 ms. Same rows, same rules.
 */
export class DealsVisibleOwnersOnce1764000006000 implements MigrationInterface {
  name = 'DealsVisibleOwnersOnce1764000006000';

  async up(q: QueryRunner): Promise<void> {
    await replaceDealsOwnerPolicy(q, VISIBLE_OWNERS_ONCE);
  }

  async down(q: QueryRunner): Promise<void> {
    await replaceDealsOwnerPolicy(q, `(${VISIBLE_OWNERS})`);
  }
}

/** Replaces the deals policy with `owner_id = ANY <owners>` (admins may also write any owner). */
export async function replaceDealsOwnerPolicy(q: QueryRunner, owners: string): Promise<void> {
  await q.query(`DROP POLICY deals_visible_owner ON sales.deals`);
  await q.query(
    `CREATE POLICY deals_visible_owner ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
       USING (owner_id = ANY ${owners})
       WITH CHECK (${ADMIN} OR owner_id = ANY ${owners})`,
  );
}
