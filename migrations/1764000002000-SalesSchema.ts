import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  currentRoleExpression,
  currentTenantExpression,
  currentUserExpression,
  enableTenantRls,
} from '@app/tenancy';
import { appRole } from './migration-env';

export const TENANT = currentTenantExpression();
export const USER = currentUserExpression();
export const ROLE = currentRoleExpression();
export const ANY_ROLE = `${ROLE} IN ('rep', 'manager', 'admin')`;
export const ADMIN = `${ROLE} = 'admin'`;

/**
 * The owners whose deals the caller may see and change, computed once per statement (an InitPlan)
 * so that `owner_id = ANY (...)` is an index condition on deals (tenant_id, owner_id): an admin
 * gets every team member (deals.owner_id references team_members, so that is every deal), a
 * manager their closure subtree (themselves included), a rep themselves, any other role nothing.
 * A separate `role = 'admin'` policy would be OR-ed into the same filter and cost the index, so
 * only WITH CHECK, which is evaluated per written row and never drives a scan, short-cuts admins.
 * Only its parts are sub-selects here; migration 1764000006000 wraps the whole CASE in one, so
 * that where the policy is a filter the array is not rebuilt for every row.
 */
export const VISIBLE_OWNERS = `CASE ${ROLE}
      WHEN 'admin' THEN ARRAY(SELECT m.user_id FROM sales.team_members m WHERE m.tenant_id = ${TENANT})
      WHEN 'manager' THEN array_append(ARRAY(
        SELECT c.descendant_id FROM sales.team_closure c
         WHERE c.tenant_id = ${TENANT} AND c.ancestor_id = ${USER}), ${USER})
      WHEN 'rep' THEN ARRAY[${USER}]
    END`;

/** The sales schema's tables, reporting-tree closure, policies and grants. */
export class SalesSchema1764000002000 implements MigrationInterface {
  name = 'SalesSchema1764000002000';

  async up(q: QueryRunner): Promise<void> {
    const role = appRole();
    await q.query(`
      CREATE TABLE sales.team_members (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        user_id uuid NOT NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        manager_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, user_id),
        CONSTRAINT team_members_manager_fk FOREIGN KEY (tenant_id, manager_id)
          REFERENCES sales.team_members (tenant_id, user_id),
        CONSTRAINT team_members_not_own_manager CHECK (manager_id <> user_id)
      )`);
    await q.query(
      `CREATE INDEX team_members_manager_idx ON sales.team_members (tenant_id, manager_id)`,
    );
    await q.query(TEAM_CLOSURE_TABLE);
    await q.query(TEAM_CLOSURE_INDEX);
    await q.query(`
      CREATE TABLE sales.accounts (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        domain text CHECK (length(domain) BETWEEN 1 AND 253),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await q.query(`
      CREATE TABLE sales.deals (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL,
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        amount numeric(14, 2) NOT NULL CHECK (amount >= 0),
        stage text NOT NULL DEFAULT 'prospecting'
          CHECK (stage IN ('prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost')),
        owner_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id),
        CONSTRAINT deals_account_fk FOREIGN KEY (tenant_id, account_id)
          REFERENCES sales.accounts (tenant_id, id) ON DELETE CASCADE,
        CONSTRAINT deals_owner_fk FOREIGN KEY (tenant_id, owner_id)
          REFERENCES sales.team_members (tenant_id, user_id)
      )`);
    await q.query(`CREATE INDEX deals_owner_idx ON sales.deals (tenant_id, owner_id)`);
    await q.query(`CREATE INDEX deals_account_idx ON sales.deals (tenant_id, account_id)`);

    await createTeamClosureTriggers(q);

    for (const table of ['team_members', 'team_closure']) {
      await enableTenantRls(q, `sales.${table}`, { appRole: role, allowAllWithinTenant: false });
      await createTeamPolicies(q, table);
    }

    await enableTenantRls(q, 'sales.accounts', { appRole: role, allowAllWithinTenant: false });
    await q.query(
      `CREATE POLICY accounts_member ON sales.accounts AS PERMISSIVE FOR ALL TO PUBLIC
         USING (${ANY_ROLE}) WITH CHECK (${ANY_ROLE})`,
    );
    await q.query(
      `CREATE POLICY accounts_admin_update ON sales.accounts AS RESTRICTIVE FOR UPDATE TO PUBLIC
         USING (${ADMIN}) WITH CHECK (${ADMIN})`,
    );
    await q.query(
      `CREATE POLICY accounts_admin_delete ON sales.accounts AS RESTRICTIVE FOR DELETE TO PUBLIC
         USING (${ADMIN})`,
    );

    await enableTenantRls(q, 'sales.deals', { appRole: role, allowAllWithinTenant: false });
    await q.query(
      `CREATE POLICY deals_visible_owner ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
         USING (owner_id = ANY (${VISIBLE_OWNERS}))
         WITH CHECK (${ADMIN} OR owner_id = ANY (${VISIBLE_OWNERS}))`,
    );
    await q.query(
      `CREATE POLICY deals_admin_delete ON sales.deals AS RESTRICTIVE FOR DELETE TO PUBLIC
         USING (${ADMIN})`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sales.deals`);
    await q.query(`DROP TABLE sales.accounts`);
    await q.query(`DROP TABLE sales.team_closure`);
    await q.query(`DROP TABLE sales.team_members`);
    await q.query(`DROP FUNCTION sales.team_closure_sync()`);
    await q.query(`DROP FUNCTION sales.team_members_guard()`);
  }
}

/**
 * The team tables' role policies as this migration creates them: any sales role reads, admins
 * write (migration 1764000007000 replaces them, and its down() restores them with this).
 */
export async function createTeamPolicies(q: QueryRunner, table: string): Promise<void> {
  await q.query(
    `CREATE POLICY ${table}_read ON sales.${table} AS PERMISSIVE FOR SELECT TO PUBLIC
       USING (${ANY_ROLE})`,
  );
  await q.query(
    `CREATE POLICY ${table}_admin_write ON sales.${table} AS PERMISSIVE FOR ALL TO PUBLIC
       USING (${ADMIN}) WITH CHECK (${ADMIN})`,
  );
}

/** The reporting tree's closure table (dropped by migration 1764000013500, whose down() restores it). */
export const TEAM_CLOSURE_TABLE = `
      CREATE TABLE sales.team_closure (
        tenant_id uuid NOT NULL,
        ancestor_id uuid NOT NULL,
        descendant_id uuid NOT NULL,
        depth int NOT NULL CHECK (depth >= 0),
        PRIMARY KEY (tenant_id, ancestor_id, descendant_id),
        CONSTRAINT team_closure_ancestor_fk FOREIGN KEY (tenant_id, ancestor_id)
          REFERENCES sales.team_members (tenant_id, user_id) ON DELETE CASCADE,
        CONSTRAINT team_closure_descendant_fk FOREIGN KEY (tenant_id, descendant_id)
          REFERENCES sales.team_members (tenant_id, user_id) ON DELETE CASCADE
      )`;

/** The closure's index by descendant. */
export const TEAM_CLOSURE_INDEX = `CREATE INDEX team_closure_descendant_idx ON sales.team_closure (tenant_id, descendant_id, ancestor_id)`;

/**
 * The triggers on team_members that refuse a reporting cycle and keep the closure in step, with
 * their functions (dropped by migration 1764000013500, whose down() restores them).
 */
export async function createTeamClosureTriggers(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE FUNCTION sales.team_members_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtextextended('sales.team_members:' || NEW.tenant_id::text, 0));
      IF NEW.manager_id = NEW.user_id OR (TG_OP = 'UPDATE' AND EXISTS (
        SELECT 1 FROM sales.team_closure c
         WHERE c.tenant_id = NEW.tenant_id AND c.ancestor_id = NEW.user_id
           AND c.descendant_id = NEW.manager_id))
      THEN
        RAISE EXCEPTION 'reporting cycle: % cannot report to %', NEW.user_id, NEW.manager_id
          USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'team_members_no_cycle',
                SCHEMA = 'sales', TABLE = 'team_members';
      END IF;
      RETURN NEW;
    END $$`);
  await q.query(`
    CREATE FUNCTION sales.team_closure_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO sales.team_closure (tenant_id, ancestor_id, descendant_id, depth)
        VALUES (NEW.tenant_id, NEW.user_id, NEW.user_id, 0);
      ELSE
        DELETE FROM sales.team_closure l
         WHERE l.tenant_id = NEW.tenant_id
           AND l.descendant_id IN (SELECT s.descendant_id FROM sales.team_closure s
                                    WHERE s.tenant_id = NEW.tenant_id AND s.ancestor_id = NEW.user_id)
           AND l.ancestor_id NOT IN (SELECT s.descendant_id FROM sales.team_closure s
                                      WHERE s.tenant_id = NEW.tenant_id AND s.ancestor_id = NEW.user_id);
      END IF;
      IF NEW.manager_id IS NOT NULL THEN
        INSERT INTO sales.team_closure (tenant_id, ancestor_id, descendant_id, depth)
        SELECT NEW.tenant_id, a.ancestor_id, s.descendant_id, a.depth + s.depth + 1
          FROM sales.team_closure a
          JOIN sales.team_closure s ON s.tenant_id = a.tenant_id AND s.ancestor_id = NEW.user_id
         WHERE a.tenant_id = NEW.tenant_id AND a.descendant_id = NEW.manager_id;
      END IF;
      RETURN NULL;
    END $$`);
  await q.query(`REVOKE ALL ON FUNCTION sales.team_members_guard() FROM PUBLIC`);
  await q.query(`REVOKE ALL ON FUNCTION sales.team_closure_sync() FROM PUBLIC`);
  await q.query(`
    CREATE TRIGGER team_members_guard BEFORE INSERT OR UPDATE OF manager_id
      ON sales.team_members FOR EACH ROW EXECUTE FUNCTION sales.team_members_guard()`);
  await q.query(`
    CREATE TRIGGER team_closure_insert AFTER INSERT
      ON sales.team_members FOR EACH ROW EXECUTE FUNCTION sales.team_closure_sync()`);
  await q.query(`
    CREATE TRIGGER team_closure_move AFTER UPDATE OF manager_id ON sales.team_members FOR EACH ROW
      WHEN (OLD.manager_id IS DISTINCT FROM NEW.manager_id)
      EXECUTE FUNCTION sales.team_closure_sync()`);
}
