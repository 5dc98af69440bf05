import { MigrationInterface, QueryRunner } from 'typeorm';
import { dropRequestRole, ensureRequestRole } from '@app/tenancy';
import { ROLE, TENANT, USER } from './1764000002000-SalesSchema';
import { appRole } from './migration-env';

/**
 * A manager whose closure subtree (the manager included) holds fewer rows than this leads a small
 * team; the others, a large one. Where the two policies below cost the same: reading a small
 * team's deals through the owner index and sorting them costs about what walking the tenant's
 * deals oldest first costs until a large team's page is full.
 */
export const SMALL_TEAM_LIMIT = 200;

/** The sales tables a manager's transaction uses (with the application role's privileges). */
export const MANAGER_TABLES = [
  'sales.accounts',
  'sales.deals',
  'sales.team_closure',
  'sales.team_members',
];

/** The request roles of the managers of small and large teams (server-wide, after the app role). */
export function managerRoles(app: string = appRole()): { small: string; large: string } {
  return { small: `${app}_small_team_manager`, large: `${app}_large_team_manager` };
}

/** The caller's closure subtree (the caller included), as a sub-select. */
const SUBTREE = `SELECT c.descendant_id FROM sales.team_closure c
                  WHERE c.tenant_id = ${TENANT} AND c.ancestor_id = ${USER}`;

/** A small team's deals policy: an index condition on the owner index. */
const SMALL_TEAM = `owner_id = ANY (ARRAY(${SUBTREE}))`;

/** A large team's deals policy: the subtree hashed once, probed per row. */
const LARGE_TEAM = `owner_id IN (${SUBTREE})`;

/** The rows of the caller's subtree, counted by {@link requestRoleFunction} up to a limit. */
const SUBTREE_COUNT = `SELECT FROM sales.team_closure c
               WHERE c.tenant_id = ${TENANT} AND c.ancestor_id = ${USER}`;

/**
 * A manager's deals with the policy that fits the size of the team, chosen per transaction.
 *
 * One policy cannot serve both sizes (measured in docs/performance.md): `owner_id = ANY (ARRAY(<subtree>))`
 * is an index condition on `deals_owner_idx`, right for a small team, but PostgreSQL assumes any
 * such array holds 10 owners and, outside an index condition, searches it linearly for every row,
 * so a large team's page read and sorted all of its deals; `owner_id IN (<subtree>)` is hashed
 * once and probed per row, right for walking the tenant's deals oldest first until a large team's
 * page is full, and wrong for a small team, whose 50 deals lie far apart in that order.
 *
 * So each size gets a request role and its own policy `TO` that role, and the policy as
 * migration 1764000007000 left it (a per-row CASE on the role setting) applies only to the
 * application role and to the owner running this migration (which reads deals in its tools and
 * tests); any other role sees no deals. `sales.request_role()`, which sales-api names as TenancyModule's
 * `requestRoleFunction`, returns the role for each transaction: a manager's by the size of their
 * subtree (counted up to {@link SMALL_TEAM_LIMIT}, under the closure's own policies), 'none'
 * (the application role) for anyone else. Both policies allow exactly the caller's subtree, like
 * the CASE's manager branch: the size decides the plan, never the rows. They do not test the role
 * setting again: only that function sets these roles, for managers only (SQL that could set the
 * role could as well set the role setting), and the test, as a tenant equality, cost a small
 * team's page 0.09 ms of its 0.23 ms (EXPLAIN ANALYZE on the full-size bench data). The tenant
 * guard, RESTRICTIVE and `TO PUBLIC`, applies to the request roles as to every role.
 */
export class DealsPolicyPerTeamSize1764000010000 implements MigrationInterface {
  name = 'DealsPolicyPerTeamSize1764000010000';

  async up(q: QueryRunner): Promise<void> {
    const app = appRole();
    await createTeamSizeRoles(q, app);
    await q.query(`ALTER POLICY deals_visible_owner ON sales.deals TO "${app}", CURRENT_USER`);
    await q.query(`REVOKE ALL ON FUNCTION sales.request_role() FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION sales.request_role() TO "${app}"`);
  }

  async down(q: QueryRunner): Promise<void> {
    const app = appRole();
    const { small, large } = managerRoles(app);
    await q.query(`DROP FUNCTION sales.request_role()`);
    await q.query(`DROP POLICY deals_large_team ON sales.deals`);
    await q.query(`DROP POLICY deals_small_team ON sales.deals`);
    await q.query(`ALTER POLICY deals_visible_owner ON sales.deals TO PUBLIC`);
    for (const role of [large, small]) {
      await dropRequestRole(q, role, { appRole: app, tables: MANAGER_TABLES });
    }
  }
}

/**
 * The request roles of both team sizes with their deals policies, and `sales.request_role()`
 * handing them out (migration 1764000013500's down() restores them with this).
 */
export async function createTeamSizeRoles(q: QueryRunner, app: string): Promise<void> {
  const { small, large } = managerRoles(app);
  for (const role of [small, large]) {
    await ensureRequestRole(q, role, { appRole: app, tables: MANAGER_TABLES });
  }
  await q.query(
    `CREATE POLICY deals_small_team ON sales.deals AS PERMISSIVE FOR ALL TO "${small}"
       USING (${SMALL_TEAM}) WITH CHECK (${SMALL_TEAM})`,
  );
  await q.query(
    `CREATE POLICY deals_large_team ON sales.deals AS PERMISSIVE FOR ALL TO "${large}"
       USING (${LARGE_TEAM}) WITH CHECK (${LARGE_TEAM})`,
  );
  await q.query(
    requestRoleFunction(`
        IF (SELECT count(*) FROM (${SUBTREE_COUNT} LIMIT ${SMALL_TEAM_LIMIT}) s) < ${SMALL_TEAM_LIMIT} THEN
          RETURN '${small}';
        END IF;
        RETURN '${large}';`),
  );
}

/**
 * `CREATE OR REPLACE FUNCTION sales.request_role()`: 'none' (the application role) for anyone but
 * a manager; for a manager, what `managerBranch` (plpgsql statements) returns.
 *
 * plpgsql, without SET search_path (every name is qualified or built in): its query's plan is
 * cached per connection. As LANGUAGE sql, or with SET search_path, the function was planned again
 * on every call and added 120-550 µs to every request's settings statement.
 */
export function requestRoleFunction(managerBranch: string): string {
  return `
      CREATE OR REPLACE FUNCTION sales.request_role() RETURNS text LANGUAGE plpgsql STABLE AS $fn$
      BEGIN
        IF ${ROLE} IS DISTINCT FROM 'manager' THEN
          RETURN 'none';
        END IF;${managerBranch}
      END
      $fn$`;
}
