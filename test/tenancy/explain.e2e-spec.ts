import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  explainRowAccess,
  ExplainRowAccessOptions,
  formatRowAccessExplanation,
  PolicyEvaluation,
  RowAccessExplainError,
} from '@app/tenancy';
import { connect } from '../support/db';
import {
  createOrg,
  DealKey,
  Org,
  ORG,
  Person,
  SalesHarness,
  salesSetup,
} from '../sales-api/support/sales-harness';

/** Each policy's name with what it yielded, for exact comparison. */
const outcomes = (policies: PolicyEvaluation[]) =>
  policies.map((p) => ({ name: p.name, kind: p.kind, passed: p.passed }));

/** explainRowAccess on sales-api's real schema: tenant guard, role policies and the reporting tree. */
describe('explainRowAccess on sales.deals', () => {
  let h: SalesHarness;
  let admin: Client;
  let org: Org;
  let otherOrg: Org;

  beforeAll(async () => {
    h = await salesSetup();
    admin = await connect('admin');
    org = await createOrg(h, 'explain');
    otherOrg = await createOrg(h, 'explain-other');
  });

  afterAll(async () => {
    await admin.end();
    await h.close();
  });

  /** Explains `deal` of `of` for `person` of `org`, as the application role. */
  const explain = (
    person: Person,
    deal: DealKey,
    extra: Partial<ExplainRowAccessOptions> & { of?: Org } = {},
  ) => {
    const { of = org, ...options } = extra;
    return explainRowAccess(admin, {
      table: 'sales.deals',
      key: { tenant_id: of.tenantId, id: of.deal[deal] },
      context: { tenantId: org.tenantId, userId: org.user[person], role: ORG[person].role },
      asRole: 'app_user',
      ...options,
    });
  };

  it('allows a rep to read their own deal, naming the policy that allowed it, and refuses the delete to anyone but an admin', async () => {
    const e = await explain('rita', 'd1');
    expect(e.role).toBe('app_user');
    expect(e.rowSecurity).toBe('enforced');
    expect(e.exists).toBe(true);
    expect(e.read.allowed).toBe(true);
    expect(e.read.reason).toBe(
      'SELECT USING: deals_visible_owner passed, and restrictive tenant_guard passed',
    );
    expect(outcomes(e.read.policies)).toEqual([
      { name: 'deals_visible_owner', kind: 'PERMISSIVE', passed: true },
      { name: 'tenant_guard', kind: 'RESTRICTIVE', passed: true },
    ]);
    expect(e.read.actual).toEqual({ allowed: true });
    expect(e.update).toMatchObject({ allowed: true, actual: { allowed: true }, mismatch: false });
    expect(e.delete).toMatchObject({
      allowed: false,
      reason: 'DELETE USING: restrictive deals_admin_delete did not pass',
      actual: { allowed: false },
      mismatch: false,
    });
    expect(e.otherPolicies.map((p) => p.name)).toEqual([
      'deals_manager_team',
      'deals_manager_team_tenant',
    ]);
  });

  it("refuses a rep another rep's deal and lists the permissive policy that did not pass", async () => {
    const e = await explain('rita', 'd3');
    expect(e.exists).toBe(true);
    expect(e.read.allowed).toBe(false);
    expect(e.read.reason).toBe('SELECT USING: no permissive policy passed (deals_visible_owner)');
    expect(outcomes(e.read.policies)).toEqual([
      { name: 'deals_visible_owner', kind: 'PERMISSIVE', passed: false },
      { name: 'tenant_guard', kind: 'RESTRICTIVE', passed: true },
    ]);
    expect(e.read).toMatchObject({ actual: { allowed: false }, mismatch: false });
    expect(e.update).toMatchObject({ allowed: false, actual: { allowed: false }, mismatch: false });
    expect(e.delete).toMatchObject({ allowed: false, actual: { allowed: false }, mismatch: false });
  });

  it("refuses an admin another tenant's deal by the restrictive tenant guard alone", async () => {
    const e = await explain('ada', 'd10', { of: otherOrg });
    expect(e.exists).toBe(true);
    expect(e.read.allowed).toBe(false);
    expect(e.read.reason).toBe('SELECT USING: restrictive tenant_guard did not pass');
    expect(outcomes(e.read.policies)).toEqual([
      { name: 'deals_visible_owner', kind: 'PERMISSIVE', passed: true },
      { name: 'tenant_guard', kind: 'RESTRICTIVE', passed: false },
    ]);
    expect(e.delete.policies.find((p) => p.name === 'deals_admin_delete')?.passed).toBe(true);
    for (const verdict of [e.read, e.update, e.delete]) {
      expect(verdict).toMatchObject({
        allowed: false,
        actual: { allowed: false },
        mismatch: false,
      });
    }
  });

  it('allows a manager a deal of their subtree through the request role sales.request_role() picks', async () => {
    const e = await explain('max', 'd4', { requestRoleFunction: 'sales.request_role' });
    expect(e.role).toBe('app_user_manager');
    expect(e.read.allowed).toBe(true);
    expect(outcomes(e.read.policies)).toEqual([
      { name: 'deals_manager_team', kind: 'RESTRICTIVE', passed: true },
      { name: 'deals_manager_team_tenant', kind: 'PERMISSIVE', passed: true },
      { name: 'tenant_guard', kind: 'RESTRICTIVE', passed: true },
    ]);
    expect(e.update).toMatchObject({ allowed: true, actual: { allowed: true }, mismatch: false });
    expect(e.update.policies.map((p) => [p.name, p.passed, p.checkPassed])).toEqual([
      ['deals_manager_team', true, true],
      ['deals_manager_team_tenant', true, true],
      ['tenant_guard', true, true],
    ]);
    expect(e.otherPolicies.map((p) => p.name)).toEqual(['deals_visible_owner']);
  });

  it("refuses a manager a deal outside their subtree (their manager's report)", async () => {
    const e = await explain('max', 'd1', { requestRoleFunction: 'sales.request_role' });
    expect(e.read).toMatchObject({
      allowed: false,
      reason: 'SELECT USING: restrictive deals_manager_team did not pass',
      actual: { allowed: false },
      mismatch: false,
    });
  });

  it("allows a manager of managers a deal two levels down through the application role's chain policy", async () => {
    const e = await explain('mona', 'd4');
    expect(e.role).toBe('app_user');
    expect(e.read).toMatchObject({ allowed: true, actual: { allowed: true }, mismatch: false });
    expect(outcomes(e.read.policies)).toEqual([
      { name: 'deals_visible_owner', kind: 'PERMISSIVE', passed: true },
      { name: 'tenant_guard', kind: 'RESTRICTIVE', passed: true },
    ]);
  });

  it("changes nothing, even where the admin's UPDATE and DELETE really ran", async () => {
    const snapshot = async () => ({
      deals: (
        await admin.query(
          `SELECT id, title, amount::text, stage, owner_id, updated_at, xmin::text AS xmin
             FROM sales.deals WHERE tenant_id = $1 ORDER BY id`,
          [org.tenantId],
        )
      ).rows,
      audit: (
        await admin.query(`SELECT count(*)::int AS n FROM tenancy.audit_log WHERE tenant_id = $1`, [
          org.tenantId,
        ])
      ).rows[0].n,
    });
    const before = await snapshot();
    const e = await explain('ada', 'd1');
    expect(e.update).toMatchObject({ allowed: true, actual: { allowed: true } });
    expect(e.delete).toMatchObject({ allowed: true, actual: { allowed: true } });
    expect(before.deals).toHaveLength(10);
    expect(await snapshot()).toEqual(before);
    const session = await admin.query(
      `SELECT current_user = session_user AS own_role, current_setting('app.tenant_id', true) AS tenant`,
    );
    expect(session.rows[0]).toEqual({ own_role: true, tenant: '' });
  });

  it('refuses every command for a key that matches no row, saying so', async () => {
    const e = await explainRowAccess(admin, {
      table: 'sales.deals',
      key: { tenant_id: org.tenantId, id: randomUUID() },
      context: { tenantId: org.tenantId, userId: org.user.ada, role: 'admin' },
      asRole: 'app_user',
    });
    expect(e.exists).toBe(false);
    expect(e.read.reason).toMatch(/^no row of sales\.deals has tenant_id=.*, id=/);
    expect([e.read.allowed, e.update.allowed, e.delete.allowed]).toEqual([false, false, false]);
    expect(e.read.mismatch).toBe(false);
  });

  it('reports that a superuser connection bypasses row-level security when no asRole is given', async () => {
    const e = await explain('rita', 'd3', { asRole: undefined });
    expect(e.role).toBe((await admin.query('SELECT current_user AS u')).rows[0].u);
    expect(e.rowSecurity).toBe('bypassed');
    expect(e.read).toEqual(
      expect.objectContaining({
        allowed: true,
        reason: `${e.role} bypasses row-level security (superuser)`,
      }),
    );
    expect(e.read.actual).toBeUndefined();
  });

  it('refuses an owner connection, which FORCE ROW LEVEL SECURITY keeps from reading the row', async () => {
    const owner = await connect('owner');
    try {
      await expect(
        explainRowAccess(owner, {
          table: 'sales.deals',
          key: { tenant_id: org.tenantId, id: org.deal.d1 },
          context: { tenantId: org.tenantId, userId: org.user.ada, role: 'admin' },
        }),
      ).rejects.toThrow(
        new RowAccessExplainError(
          'explainRowAccess reads the row past row-level security, which "tenancy_owner" cannot do on sales.deals (FORCE ROW LEVEL SECURITY applies to its owner too): connect as a superuser or a role with BYPASSRLS, and name the application role in asRole',
        ),
      );
    } finally {
      await owner.end();
    }
  });

  it('refuses an unknown key column, naming the columns there are', async () => {
    await expect(explain('rita', 'd1', { key: { deal_id: org.deal.d1 } })).rejects.toThrow(
      /^sales\.deals has no column deal_id: its columns are tenant_id, id, account_id, title, amount, stage, owner_id, created_at, updated_at, owner_chain$/,
    );
  });

  it('formats the verdicts and a table of the policies for people', async () => {
    const text = formatRowAccessExplanation(await explain('rita', 'd3'));
    expect(text).toContain(`as app_user, tenant ${org.tenantId}, user ${org.user.rita}, role rep`);
    expect(text).toContain(
      'read    refused  SELECT USING: no permissive policy passed (deals_visible_owner)\n                 actual: refused',
    );
    expect(text).toMatch(/\ndeals_visible_owner +PERMISSIVE +ALL +fail +fail\/fail +fail\n/);
    expect(text).toMatch(/\ntenant_guard +RESTRICTIVE +ALL +pass +pass\/pass +pass\n/);
    expect(text).toContain(
      'not applying to app_user: deals_manager_team (TO app_user_manager), deals_manager_team_tenant (TO app_user_manager)',
    );
  });
});
