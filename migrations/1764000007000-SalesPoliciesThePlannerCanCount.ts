import { MigrationInterface, QueryRunner } from 'typeorm';
import { currentTenantWhenExpression } from '@app/tenancy';
import {
  ADMIN,
  ANY_ROLE,
  createTeamPolicies,
  ROLE,
  TENANT,
  USER,
} from './1764000002000-SalesSchema';
import {
  replaceDealsOwnerPolicy,
  VISIBLE_OWNERS_ONCE,
} from './1764000006000-DealsVisibleOwnersOnce';

/** A member of the sales team (any of its roles) sees the tenant's rows: an equality on tenant_id. */
const MEMBER_OF_TENANT = `tenant_id = ${currentTenantWhenExpression(ANY_ROLE)}`;

/**
 * Which deals the caller may see and change, checked row by row: an admin every deal of the
 * tenant, a manager the deals owned in their closure subtree (which holds the manager too), a rep
 * their own, any other role none. The subtree is an uncorrelated `IN (SELECT ...)`, so PostgreSQL
 * hashes it once per statement and probes it per row.
 */
export const DEAL_VISIBLE = `CASE ${ROLE}
      WHEN 'admin' THEN true
      WHEN 'manager' THEN owner_id IN (
        SELECT c.descendant_id FROM sales.team_closure c
         WHERE c.tenant_id = ${TENANT} AND c.ancestor_id = ${USER})
      WHEN 'rep' THEN owner_id = ${USER}
      ELSE false
    END`;

/**
 * Sales policies whose estimates PostgreSQL can trust, so that it plans each role's queries from
 * the query itself. Same rows, same rules, for every role and command.
 *
 * - deals: the policy was `owner_id = ANY (<visible owners, computed once>)`. PostgreSQL assumes
 *   such an array holds 10 owners whoever the caller is, and an index condition on it wins: a
 *   manager with 1,092 people below read every visible deal (11,294) through deals_owner_idx and
 *   sorted them for a 50-row page, and an admin's page read the whole tenant. Now the policy is a
 *   per-row CASE (the subtree hashed once per statement) that drives no index; the query names the
 *   caller's scope (sales-api does), and the planner estimates that scope from real statistics.
 * - team_members, team_closure, accounts: the role check was a clause that names no column, which
 *   PostgreSQL estimates to keep 1.5 % of the rows: a manager's 1,093-row subtree was estimated at
 *   22. It is now `tenant_id = (SELECT CASE WHEN <role check> THEN <tenant> END)`, which the planner
 *   folds with the tenant guard into a one-time check. The admins' write policies were FOR ALL,
 *   which OR-ed them into every read; they are now one policy per command.
 */
export class SalesPoliciesThePlannerCanCount1764000007000 implements MigrationInterface {
  name = 'SalesPoliciesThePlannerCanCount1764000007000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['team_members', 'team_closure']) {
      await q.query(`DROP POLICY ${table}_read ON sales.${table}`);
      await q.query(`DROP POLICY ${table}_admin_write ON sales.${table}`);
      await createTeamRolePolicies(q, table);
    }
    await replace(q, 'accounts_member', 'accounts', MEMBER_OF_TENANT);
    await replace(q, 'deals_visible_owner', 'deals', DEAL_VISIBLE);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['team_members', 'team_closure']) {
      for (const command of ['insert', 'update', 'delete']) {
        await q.query(`DROP POLICY ${table}_admin_${command} ON sales.${table}`);
      }
      await q.query(`DROP POLICY ${table}_read ON sales.${table}`);
      await createTeamPolicies(q, table);
    }
    await replace(q, 'accounts_member', 'accounts', ANY_ROLE);
    await replaceDealsOwnerPolicy(q, VISIBLE_OWNERS_ONCE);
  }
}

/** Replaces a FOR ALL policy whose USING and WITH CHECK are the same rule. */
async function replace(q: QueryRunner, policy: string, table: string, rule: string): Promise<void> {
  await q.query(`DROP POLICY ${policy} ON sales.${table}`);
  await q.query(
    `CREATE POLICY ${policy} ON sales.${table} AS PERMISSIVE FOR ALL TO PUBLIC
       USING (${rule}) WITH CHECK (${rule})`,
  );
}

/**
 * A team table's policies as this migration leaves them: a member of the sales team reads the
 * tenant's rows, an admin writes (one policy per command). Migration 1764000013500's down()
 * restores team_closure's with this.
 */
export async function createTeamRolePolicies(q: QueryRunner, table: string): Promise<void> {
  await q.query(
    `CREATE POLICY ${table}_read ON sales.${table} AS PERMISSIVE FOR SELECT TO PUBLIC
       USING (${MEMBER_OF_TENANT})`,
  );
  await q.query(
    `CREATE POLICY ${table}_admin_insert ON sales.${table} AS PERMISSIVE FOR INSERT TO PUBLIC
       WITH CHECK (${ADMIN})`,
  );
  await q.query(
    `CREATE POLICY ${table}_admin_update ON sales.${table} AS PERMISSIVE FOR UPDATE TO PUBLIC
       USING (${ADMIN}) WITH CHECK (${ADMIN})`,
  );
  await q.query(
    `CREATE POLICY ${table}_admin_delete ON sales.${table} AS PERMISSIVE FOR DELETE TO PUBLIC
       USING (${ADMIN})`,
  );
}
