import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  currentRoleExpression,
  currentTenantExpression,
  currentUserExpression,
  disableAuditTrail,
  dropRequestRole,
  enableAuditTrail,
  enableTenantRls,
  ensureRequestRole,
} from '@app/tenancy';
import {
  createTeamClosureTriggers,
  TEAM_CLOSURE_INDEX,
  TEAM_CLOSURE_TABLE,
} from './1764000002000-SalesSchema';
import {
  createTeamRolePolicies,
  DEAL_VISIBLE,
} from './1764000007000-SalesPoliciesThePlannerCanCount';
import {
  createTeamSizeRoles,
  MANAGER_TABLES,
  managerRoles,
  requestRoleFunction,
} from './1764000010000-DealsPolicyPerTeamSize';
import { appRole } from './migration-env';

/** The settings as policies read them without a sub-select (the form Citus accepts). */
const TENANT = currentTenantExpression(undefined, 'plain');
const USER = currentUserExpression(undefined, 'plain');
const ROLE = currentRoleExpression(undefined, 'plain');

/** A deal owned in the caller's subtree: the caller is in the owner's reporting chain. */
const IN_MY_CHAIN = `owner_chain @> ARRAY[${USER}]`;

/**
 * Which deals the caller may see and change, row by row, for the application role: an admin
 * every deal of the tenant, a manager those owned in their subtree, a rep their own, any other
 * role none (managers normally run as a request role, below).
 */
const DEAL_VISIBLE_BY_CHAIN = `CASE ${ROLE}
      WHEN 'admin' THEN true
      WHEN 'manager' THEN ${IN_MY_CHAIN}
      WHEN 'rep' THEN owner_id = ${USER}
      ELSE false
    END`;

/**
 * A manager's deals: `owner_chain @> ARRAY[me]`, as a RESTRICTIVE policy `TO` the manager's request
 * role (with a PERMISSIVE one for the tenant, {@link MANAGER_TENANT}). PostgreSQL gives each
 * restrictive policy its own security level, in the order of their names, and the permissive ones
 * together the level after them; a qual may drive an index only at the lowest level or if its
 * operator is leakproof, and `@>` is not. As `deals_manager_team`, which sorts before
 * `tenant_guard`, it has the lowest level and can drive the GIN index of owner_chain; as a
 * permissive policy behind the restrictive tenant guard it was only ever a filter. The planner
 * estimates it from the column's element statistics (it folds the setting when it plans), so one
 * policy plans every team size: a team with few deals through the GIN index, a large one by
 * walking the tenant's deals oldest first until the page is full. Same rows: restrictive AND
 * tenant AND guard is the manager's subtree within the tenant.
 */
const MANAGER_TEAM = IN_MY_CHAIN;

/** The manager role's permissive policy: the tenant (the rule is the restrictive one above). */
const MANAGER_TENANT = `tenant_id = ${TENANT}`;

/**
 * The tables a manager's transaction uses (with the application role's privileges): the team-size
 * roles' tables without the closure table.
 */
const MANAGER_ROLE_TABLES = MANAGER_TABLES.filter((t) => t !== 'sales.team_closure');

/** The request role of every manager (server-wide, after the app role). */
export function managerRole(app: string = appRole()): string {
  return `${app}_manager`;
}

/** Audited columns left out of the recorded changes: the chains are derived from manager_id. */
const TEAM_AUDIT_EXCLUDE = ['manager_chain', 'chain'];
const DEALS_AUDIT_EXCLUDE = ['owner_chain'];

/**
 * The reporting tree as chains instead of a closure table kept by triggers, and the deals
 * policies without sub-selects, so that the sales schema has nothing Citus refuses (a sub-select
 * in a policy, a trigger) and every rule stays in the database:
 *
 * - `team_members.chain` (generated: `manager_chain || user_id`) lists a member's managers from the
 *   top down and the member last; `manager_chain` is the manager's chain, which a foreign key
 *   `(tenant_id, manager_id, manager_chain) → (tenant_id, user_id, chain)` holds equal to it, so
 *   no chain can be wrong. A CHECK refuses a member in their own manager chain (a reporting
 *   cycle, `team_members_no_cycle`, the name the trigger raised before). Two concurrent moves
 *   that would make a cycle between them cannot both commit: each one's foreign key check locks
 *   the manager row the other changes (the loser gets a foreign key error).
 * - `deals.owner_chain` is the owner's chain, held equal by a foreign key to team_members
 *   `(tenant_id, user_id, chain)`. "Owned in my subtree" is then `owner_chain @> ARRAY[me]`,
 *   which reads only the row and the settings: no sub-select, no other table.
 * - A move (`manager_id` changes) rewrites the chains of the member's subtree and of their deals in
 *   one statement (sales-api's TeamService; the foreign keys are checked at its end).
 * - Managers: one request role (`app_user_manager`) with {@link MANAGER_TEAM}, instead of a role
 *   per team size (migration 1764000010000): the planner now estimates a manager's share of the
 *   deals from real statistics, so one policy plans both sizes, and `sales.request_role()` no
 *   longer counts the subtree. The closure table, its triggers and the advisory lock of the cycle
 *   guard are gone. The audit trail leaves the chains out (derived from manager_id, as the closure
 *   table was not audited).
 *
 * Timestamped before 1764000014000 (DistributeForCitus) so that a fresh Citus database gets this
 * schema before it is distributed; on a database that already ran 1764000014000 (a no-op without
 * Citus), this runs after it.
 */
export class ReportingChains1764000013500 implements MigrationInterface {
  name = 'ReportingChains1764000013500';

  async up(q: QueryRunner): Promise<void> {
    const app = appRole();
    const { small, large } = managerRoles(app);
    const manager = managerRole(app);
    await resetAudit(q, TEAM_AUDIT_EXCLUDE, DEALS_AUDIT_EXCLUDE);
    await withoutForcedRls(q, async () => {
      await q.query(`ALTER TABLE sales.team_members ADD COLUMN manager_chain uuid[]`);
      await q.query(`
        UPDATE sales.team_members m
           SET manager_chain = (SELECT array_agg(c.ancestor_id ORDER BY c.depth DESC)
                                  FROM sales.team_closure c
                                 WHERE c.tenant_id = m.tenant_id AND c.descendant_id = m.manager_id)
         WHERE m.manager_id IS NOT NULL`);
      await q.query(`
        ALTER TABLE sales.team_members
          ADD COLUMN chain uuid[] NOT NULL
            GENERATED ALWAYS AS (COALESCE(manager_chain, '{}'::uuid[]) || user_id) STORED,
          ADD CONSTRAINT team_members_manager_chain_present
            CHECK ((manager_id IS NULL) = (manager_chain IS NULL)),
          ADD CONSTRAINT team_members_no_cycle CHECK (NOT (user_id = ANY (manager_chain))),
          ADD CONSTRAINT team_members_chain_key UNIQUE (tenant_id, user_id, chain)`);
      await q.query(`
        ALTER TABLE sales.team_members ADD CONSTRAINT team_members_manager_chain_fk
          FOREIGN KEY (tenant_id, manager_id, manager_chain)
          REFERENCES sales.team_members (tenant_id, user_id, chain)`);
      await q.query(`CREATE INDEX team_members_chain_idx ON sales.team_members USING gin (chain)`);

      await q.query(`ALTER TABLE sales.deals ADD COLUMN owner_chain uuid[]`);
      await q.query(`
        UPDATE sales.deals d SET owner_chain = m.chain
          FROM sales.team_members m
         WHERE m.tenant_id = d.tenant_id AND m.user_id = d.owner_id`);
      await q.query(`
        ALTER TABLE sales.deals ALTER COLUMN owner_chain SET NOT NULL,
          ADD CONSTRAINT deals_owner_chain_fk FOREIGN KEY (tenant_id, owner_id, owner_chain)
            REFERENCES sales.team_members (tenant_id, user_id, chain)`);
      await q.query(`CREATE INDEX deals_owner_chain_idx ON sales.deals USING gin (owner_chain)`);
    });

    await q.query(
      `ALTER POLICY deals_visible_owner ON sales.deals
         USING (${DEAL_VISIBLE_BY_CHAIN}) WITH CHECK (${DEAL_VISIBLE_BY_CHAIN})`,
    );
    await ensureRequestRole(q, manager, { appRole: app, tables: MANAGER_ROLE_TABLES });
    await q.query(
      `CREATE POLICY deals_manager_team ON sales.deals AS RESTRICTIVE FOR ALL TO "${manager}"
         USING (${MANAGER_TEAM}) WITH CHECK (${MANAGER_TEAM})`,
    );
    await q.query(
      `CREATE POLICY deals_manager_team_tenant ON sales.deals AS PERMISSIVE FOR ALL TO "${manager}"
         USING (${MANAGER_TENANT}) WITH CHECK (${MANAGER_TENANT})`,
    );
    await q.query(
      requestRoleFunction(`
        RETURN '${manager}';`),
    );
    await q.query(`DROP POLICY deals_small_team ON sales.deals`);
    await q.query(`DROP POLICY deals_large_team ON sales.deals`);
    for (const role of [small, large]) {
      await dropRequestRole(q, role, { appRole: app, tables: MANAGER_TABLES });
    }

    await q.query(`DROP TRIGGER team_members_guard ON sales.team_members`);
    await q.query(`DROP TRIGGER team_closure_insert ON sales.team_members`);
    await q.query(`DROP TRIGGER team_closure_move ON sales.team_members`);
    await q.query(`DROP FUNCTION sales.team_closure_sync()`);
    await q.query(`DROP FUNCTION sales.team_members_guard()`);
    await q.query(`DROP TABLE sales.team_closure`);
  }

  async down(q: QueryRunner): Promise<void> {
    const app = appRole();
    await q.query(TEAM_CLOSURE_TABLE);
    await q.query(TEAM_CLOSURE_INDEX);
    await enableTenantRls(q, 'sales.team_closure', { appRole: app, allowAllWithinTenant: false });
    await createTeamRolePolicies(q, 'team_closure');
    await withoutForcedRls(q, () =>
      q.query(`
        INSERT INTO sales.team_closure (tenant_id, ancestor_id, descendant_id, depth)
        SELECT m.tenant_id, a.id, m.user_id, cardinality(m.chain) - a.position
          FROM sales.team_members m
         CROSS JOIN LATERAL unnest(m.chain) WITH ORDINALITY a(id, position)`),
    );
    await createTeamClosureTriggers(q);

    await createTeamSizeRoles(q, app);
    await q.query(`DROP POLICY deals_manager_team_tenant ON sales.deals`);
    await q.query(`DROP POLICY deals_manager_team ON sales.deals`);
    await dropRequestRole(q, managerRole(app), { appRole: app, tables: MANAGER_ROLE_TABLES });
    await q.query(
      `ALTER POLICY deals_visible_owner ON sales.deals
         USING (${DEAL_VISIBLE}) WITH CHECK (${DEAL_VISIBLE})`,
    );

    await q.query(`DROP INDEX sales.deals_owner_chain_idx`);
    await q.query(`ALTER TABLE sales.deals DROP CONSTRAINT deals_owner_chain_fk`);
    await q.query(`ALTER TABLE sales.deals DROP COLUMN owner_chain`);
    await q.query(`DROP INDEX sales.team_members_chain_idx`);
    await q.query(`
      ALTER TABLE sales.team_members
        DROP CONSTRAINT team_members_manager_chain_fk,
        DROP CONSTRAINT team_members_chain_key,
        DROP CONSTRAINT team_members_no_cycle,
        DROP CONSTRAINT team_members_manager_chain_present,
        DROP COLUMN chain,
        DROP COLUMN manager_chain`);
    await resetAudit(q, [], []);
  }
}

/** Re-attaches the audit trigger of team_members and deals with these columns left out. */
async function resetAudit(q: QueryRunner, team: string[], deals: string[]): Promise<void> {
  for (const [table, exclude] of [
    ['sales.team_members', team],
    ['sales.deals', deals],
  ] as const) {
    await disableAuditTrail(q, table);
    await enableAuditTrail(q, table, { exclude: [...exclude] });
  }
}

/**
 * Runs `work` with FORCE ROW LEVEL SECURITY lifted from the tables it fills (the owner running
 * the migration is subject to the policies otherwise and would see no row), in the migration's
 * transaction, and puts it back.
 */
async function withoutForcedRls(q: QueryRunner, work: () => Promise<unknown>): Promise<void> {
  const tables = ['sales.team_members', 'sales.deals', 'sales.team_closure'];
  const present = (await q.query(
    `SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL`,
    [tables],
  )) as { t: string }[];
  const lifted = present.map((r) => r.t);
  for (const t of lifted) await q.query(`ALTER TABLE ${t} NO FORCE ROW LEVEL SECURITY`);
  await work();
  for (const t of lifted) await q.query(`ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`);
}
