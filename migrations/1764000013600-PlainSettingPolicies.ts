import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  currentRoleExpression,
  currentTenantExpression,
  currentTenantWhenExpression,
  SettingForm,
  setTenantGuardForm,
} from '@app/tenancy';

/** The tables whose `tenant_guard` (enableTenantRls's, createAuditLog's) {@link setTenantGuardForm} rewrites. */
const GUARDED_TABLES = [
  'sales.accounts',
  'sales.deals',
  'sales.team_members',
  'support.agents',
  'support.tickets',
  'support.ticket_comments',
  'tenancy.audit_log',
];

/** A policy to rewrite: its name, its table, and its USING and WITH CHECK expressions. */
type PolicyRule = [policy: string, table: string, rule: { using?: string; check?: string }];

/**
 * The policies other than the tenant guards that read a setting, with every read in `form`; in
 * `'sub-select'` exactly as migrations 1764000000000, 1764000001000 (enableSharedRls),
 * 1764000007000 and 1764000008000 (setAuditLogReaders) wrote them. `writer` is the SQL literal of
 * the role that writes the shared knowledge-base rows (enableSharedRls's default: the owner).
 */
function policyRules(form: SettingForm, writer: string): PolicyRule[] {
  const tenant = currentTenantExpression(undefined, form);
  const role = currentRoleExpression(undefined, form);
  const admin = `${role} = 'admin'`;
  const tenantWhen = (condition: string) =>
    `tenant_id = ${currentTenantWhenExpression(condition, undefined, form)}`;
  const member = tenantWhen(`${role} IN ('rep', 'manager', 'admin')`);
  const own = `tenant_id = ${tenant}`;
  const isWriter = `current_user = ${writer}`;
  const write = `(${own} OR (tenant_id IS NULL AND ${isWriter}))`;
  const sharedRead =
    form === 'plain'
      ? `(tenant_id IS NULL OR ${own}) AND (tenant_id IS NOT NULL OR ${tenant} IS NOT NULL OR ${isWriter})`
      : `(tenant_id IS NULL AND (${tenant} IS NOT NULL OR ${isWriter})) OR ${own}`;
  return [
    ['accounts_member', 'sales.accounts', { using: member, check: member }],
    ['accounts_admin_update', 'sales.accounts', { using: admin, check: admin }],
    ['accounts_admin_delete', 'sales.accounts', { using: admin }],
    ['deals_admin_delete', 'sales.deals', { using: admin }],
    ['team_members_read', 'sales.team_members', { using: member }],
    ['team_members_admin_insert', 'sales.team_members', { check: admin }],
    ['team_members_admin_update', 'sales.team_members', { using: admin, check: admin }],
    ['team_members_admin_delete', 'sales.team_members', { using: admin }],
    ['shared_read_guard', 'support.kb_articles', { using: sharedRead }],
    ['tenant_write_guard_insert', 'support.kb_articles', { check: write }],
    ['tenant_write_guard_update', 'support.kb_articles', { using: write, check: write }],
    ['tenant_write_guard_delete', 'support.kb_articles', { using: write }],
    ['audit_read', 'tenancy.audit_log', { using: tenantWhen(`${role} IN ('admin')`) }],
    ['tenant_self_read', 'tenancy.tenants', { using: `id = ${tenant}` }],
  ];
}

/**
 * Every policy of the apps' and the library's tables reads its settings without a sub-select
 * (`NULLIF(current_setting('app.tenant_id', true), '')::uuid`), the form Citus accepts in the
 * policies of distributed and reference tables, and the ticket assignee's foreign key has no
 * `ON DELETE SET NULL`, which Citus refuses on a key with the distribution column: support-api
 * unassigns an agent's tickets itself, in the transaction that removes the agent. Same rows, same
 * rules, for every role and command. Timestamped before DistributeForCitus1764000014000, so that
 * a fresh Citus database is distributed ready; the deals policies that read `sales.team_closure`
 * are migration 1764000013500's.
 *
 * Each policy keeps its shape, so the plans keep theirs (EXPLAIN ANALYZE of the apps' reads on a
 * tenant with 5,000 tickets, 20,000 comments, 2,200 visible articles, 3,000 accounts and 1,093
 * team members, among 30 tenants): the guard is still an index condition on `tenant_id`, evaluated
 * once (`current_setting` is stable), and a role check written `tenant_id = CASE WHEN <role check>
 * THEN <tenant> END` still folds with the guard into a one-time filter. A bare role check in a
 * read policy would not: PostgreSQL keeps it as a per-row filter estimated at 1.5 % of the rows,
 * in either form. What changed is for the better: the planner now reads the settings while
 * planning, so it estimates with the tenant's own statistics (team members 111 → 1,093, exact; a
 * tenant's ticket count 400 → 5,137 for 5,000), which turned the team list's sort of 1,093 rows
 * into a walk of team_members_by_name_idx (0.41 → 0.22 ms) and the audit page's sort into a walk
 * of audit_log_time_idx. The cost: where a policy is a filter rather than an index condition,
 * every row reads the settings again (about 0.3 µs each). The knowledge base's shared-row guard,
 * a filter on all 2,200 visible rows, took 0.71 → 1.62 ms per page, so it is written as two
 * conjuncts: the first is exactly the bitmap scan's condition and leaves the filter, the second
 * reads the setting for shared rows only (0.74 ms). A sequential scan of most of a table under the
 * policies alone pays it on every row (no app query does; `SELECT count(*) FROM sales.accounts`
 * for a tenant holding 3,000 of 3,500 accounts: 0.3 → 2.1 ms).
 */
export class PlainSettingPolicies1764000013600 implements MigrationInterface {
  name = 'PlainSettingPolicies1764000013600';

  async up(q: QueryRunner): Promise<void> {
    await setPolicyForm(q, 'plain');
    await replaceAssigneeKey(q, '');
  }

  async down(q: QueryRunner): Promise<void> {
    await replaceAssigneeKey(q, ' ON DELETE SET NULL (assignee_id)');
    await setPolicyForm(q, 'sub-select');
  }
}

/** Rewrites the guards of {@link GUARDED_TABLES} and the policies of {@link policyRules} in `form`. */
async function setPolicyForm(q: QueryRunner, form: SettingForm): Promise<void> {
  for (const table of GUARDED_TABLES) await setTenantGuardForm(q, table, form);
  const [{ writer }] = await q.query(
    `SELECT quote_literal(pg_get_userbyid(relowner)) AS writer FROM pg_class
      WHERE oid = 'support.kb_articles'::regclass`,
  );
  for (const [policy, table, { using, check }] of policyRules(form, writer)) {
    const usingSql = using ? ` USING (${using})` : '';
    const checkSql = check ? ` WITH CHECK (${check})` : '';
    await q.query(`ALTER POLICY ${policy} ON ${table}${usingSql}${checkSql}`);
  }
}

/** Re-creates the ticket assignee's foreign key (migration 1764000013000) with `onDelete`. */
async function replaceAssigneeKey(q: QueryRunner, onDelete: string): Promise<void> {
  await q.query(`
    ALTER TABLE support.tickets DROP CONSTRAINT tickets_assignee_agent_fkey,
      ADD CONSTRAINT tickets_assignee_agent_fkey
        FOREIGN KEY (tenant_id, assignee_id) REFERENCES support.agents (tenant_id, user_id)${onDelete}`);
}
