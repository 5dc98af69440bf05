import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { connect, createTenant, inTenant } from '../support/db';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Workers Launched'?: number;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

const SUBTREE_LEADS = 10;
const REPS_PER_LEAD = 99;
const OUTSIDERS = 3999;
const DEALS = 100_000;

/**
 * A manager with a subtree of 1,000 people in a tenant of 5,001 people and 100,000 deals, queried as
 * sales-api queries (the tenant and the caller's scope named, the policy deciding): the plan fits
 * the role on every PostgreSQL version the suite runs on (18 and 15). A manager's or an admin's
 * first page walks deals_oldest_idx and stops after a few hundred rows; a rep's deals come through
 * deals_owner_idx; the policy's subtree is hashed once per statement, never probed per row. Until
 * migration 1764000007000 the policy was an array of owners that PostgreSQL assumed held 10, and a
 * manager's page read every visible deal through deals_owner_idx and sorted them.
 */
describe('sales-api: the hierarchy policy at scale (EXPLAIN)', () => {
  let owner: Client;
  let app: Client;
  let tenantId: string;
  const boss = randomUUID();
  const outsideBoss = randomUUID();
  const expected = { bossDeals: 0, bossWon: 0, rep: '', repDeals: 0 };

  const generate = async () => {
    const insertMembers = (sql: string, params: unknown[]) =>
      owner.query(
        `INSERT INTO sales.team_members (tenant_id, user_id, name, manager_id) ${sql}`,
        params,
      );
    await insertMembers(`VALUES ($1, $2, 'boss', NULL), ($1, $3, 'outside boss', NULL)`, [
      tenantId,
      boss,
      outsideBoss,
    ]);
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'lead ' || g, $2 FROM generate_series(1, $3::int) g`,
      [tenantId, boss, SUBTREE_LEADS],
    );
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'rep ' || g, l.user_id
         FROM sales.team_members l CROSS JOIN generate_series(1, $3::int) g
        WHERE l.manager_id = $2`,
      [tenantId, boss, REPS_PER_LEAD],
    );
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'outsider ' || g, $2 FROM generate_series(1, $3::int) g`,
      [tenantId, outsideBoss, OUTSIDERS],
    );
    await owner.query(
      `INSERT INTO sales.accounts (tenant_id, name)
       SELECT $1, 'account ' || g FROM generate_series(1, 100) g`,
      [tenantId],
    );
    await owner.query(
      `INSERT INTO sales.deals (tenant_id, account_id, title, amount, stage, owner_id)
       SELECT $1, a.ids[g % 100 + 1], 'deal ' || g, g % 1000,
              (ARRAY['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'])[g % 6 + 1],
              m.ids[g % m.n + 1]
         FROM generate_series(1, $2::int) g,
              (SELECT array_agg(id ORDER BY id) AS ids FROM sales.accounts) a,
              (SELECT array_agg(user_id ORDER BY user_id) AS ids, count(*)::int AS n
                 FROM sales.team_members) m`,
      [tenantId, DEALS],
    );
    const counts = await owner.query(
      `WITH boss_deals AS (
         SELECT d.stage FROM sales.deals d
           JOIN sales.team_closure c ON c.tenant_id = d.tenant_id AND c.descendant_id = d.owner_id
          WHERE c.ancestor_id = $1),
       rep AS (SELECT user_id FROM sales.team_members WHERE name = 'rep 1' ORDER BY user_id LIMIT 1)
       SELECT (SELECT count(*)::int FROM sales.team_closure WHERE ancestor_id = $1) - 1 AS below,
              (SELECT count(*)::int FROM sales.team_members) AS people,
              (SELECT count(*)::int FROM sales.deals) AS deals,
              (SELECT count(*)::int FROM boss_deals) AS boss_deals,
              (SELECT count(*)::int FROM boss_deals WHERE stage = 'won') AS boss_won,
              (SELECT user_id FROM rep) AS rep,
              (SELECT count(*)::int FROM sales.deals WHERE owner_id = (SELECT user_id FROM rep)) AS rep_deals`,
      [boss],
    );
    const c = counts.rows[0];
    expect([c.below, c.people, c.deals]).toEqual([1000, 5001, DEALS]);
    Object.assign(expected, {
      bossDeals: c.boss_deals,
      bossWon: c.boss_won,
      rep: c.rep,
      repDeals: c.rep_deals,
    });
  };

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    tenantId = await createTenant(owner, 'plan');
    await inTenant(owner, tenantId, generate, { userId: boss, role: 'admin' });
    await owner.query(
      'ANALYZE sales.team_members, sales.team_closure, sales.accounts, sales.deals',
    );
    // 100,000 audited deals and their three indexes: ~20 s alone, over a minute late in a full run.
  }, 240_000);

  afterAll(async () => {
    await owner.end();
    await app.end();
  });

  const explain = (sql: string, params: unknown[] = [], userId: string = boss, role = 'manager') =>
    inTenant(
      app,
      tenantId,
      async () => {
        const res = await app.query(
          `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ${sql}`,
          params,
        );
        return res.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
      },
      { userId, role },
    );

  const dealsAccess = (plan: PlanNode) =>
    nodes(plan)
      .filter((n) => n['Relation Name'] === 'deals')
      .map((n) => {
        const bitmap = n['Node Type'] === 'Bitmap Heap Scan' ? n.Plans?.[0] : undefined;
        return {
          path: bitmap ? `Bitmap Heap Scan / ${bitmap['Node Type']}` : n['Node Type'],
          index: bitmap ? bitmap['Index Name'] : n['Index Name'],
          read: (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0),
        };
      });

  /**
   * Every SubPlan ran at most once per process (the leader and any parallel workers): the policy's
   * subtree is hashed per statement, never probed per row.
   */
  const expectNoPerRowSubPlan = (plan: PlanNode) => {
    const processes = 1 + nodes(plan).reduce((n, p) => n + (p['Workers Launched'] ?? 0), 0);
    expect(
      nodes(plan)
        .filter((n) => n['Parent Relationship'] === 'SubPlan')
        .filter((n) => (n['Actual Loops'] ?? 0) > processes),
    ).toEqual([]);
  };

  /** The scope sales-api names in a page of deals (callerDealsQuery, 'page'), per role; $1 the tenant, $2 the caller. */
  const scope = {
    manager: `AND d.owner_id IN (SELECT c.descendant_id FROM sales.team_closure c
                                  WHERE c.tenant_id = $1 AND c.ancestor_id = $2)`,
    rep: `AND d.owner_id = $2`,
    admin: `AND $2::uuid IS NOT NULL`,
  };
  type Role = keyof typeof scope;
  const pageSql = (
    role: Role,
  ) => `SELECT d.id FROM sales.deals d WHERE d.tenant_id = $1 ${scope[role]}
                                    ORDER BY d.created_at, d.id LIMIT 51`;

  /** The caller's first page computed by the owner, without RLS. */
  const expectedPage = async (role: Role, userId: string) => {
    const visible = {
      manager: `d.owner_id IN (SELECT descendant_id FROM sales.team_closure WHERE ancestor_id = $1)`,
      rep: `d.owner_id = $1`,
      admin: `$1::uuid IS NOT NULL`,
    }[role];
    const want = await inTenant(
      owner,
      tenantId,
      () =>
        owner.query(
          `SELECT d.id FROM sales.deals d WHERE ${visible} ORDER BY d.created_at, d.id LIMIT 51`,
          [userId],
        ),
      { userId: boss, role: 'admin' },
    );
    return want.rows;
  };

  const who = (role: Role) => (role === 'rep' ? expected.rep : boss);

  it.each(['manager', 'admin'] as Role[])(
    '%s (1,000 people below / the whole tenant): the first page walks deals_oldest_idx and reads under 1,000 rows, not every visible deal',
    async (role) => {
      const plan = await explain(pageSql(role), [tenantId, who(role)], who(role), role);
      const access = dealsAccess(plan);
      expect(access).toHaveLength(1);
      expect(access[0]).toMatchObject({ path: 'Index Scan', index: 'deals_oldest_idx' });
      expect(access[0].read).toBeLessThan(1_000);
      expectNoPerRowSubPlan(plan);
    },
  );

  it("finds a rep's deals through deals_owner_idx, reading only their own", async () => {
    const plan = await explain(pageSql('rep'), [tenantId, expected.rep], expected.rep, 'rep');
    expect(dealsAccess(plan)).toEqual([
      { path: expect.any(String), index: 'deals_owner_idx', read: expected.repDeals },
    ]);
    expect(expected.repDeals).toBeGreaterThanOrEqual(19);
  });

  it.each(['manager', 'rep', 'admin'] as Role[])(
    'gives %s the exact 51 oldest visible deals, with the scope named and with the policy alone',
    async (role) => {
      const want = await expectedPage(role, who(role));
      expect(want.length).toBe(role === 'rep' ? expected.repDeals : 51);
      const alone = `SELECT d.id FROM sales.deals d WHERE d.tenant_id = $1
                      ORDER BY d.created_at, d.id LIMIT 51`;
      for (const [sql, params] of [
        [pageSql(role), [tenantId, who(role)]],
        [alone, [tenantId]],
      ] as const) {
        const got = await inTenant(app, tenantId, () => app.query(sql, [...params]), {
          userId: who(role),
          role,
        });
        expect(got.rows).toEqual(want);
      }
    },
  );

  it("builds a manager's pipeline report from exactly their subtree's deals, through deals_owner_idx", async () => {
    const report = `SELECT d.stage, count(*)::int AS n FROM sales.deals d
                     WHERE d.tenant_id = $1 AND d.owner_id = ANY (ARRAY(
                       SELECT c.descendant_id FROM sales.team_closure c
                        WHERE c.tenant_id = $1 AND c.ancestor_id = $2))
                     GROUP BY d.stage`;
    const plan = await explain(report, [tenantId, boss]);
    expect(dealsAccess(plan)).toEqual([
      { path: expect.any(String), index: 'deals_owner_idx', read: expected.bossDeals },
    ]);
    expectNoPerRowSubPlan(plan);
    const got = await inTenant(app, tenantId, () => app.query(report, [tenantId, boss]), {
      userId: boss,
      role: 'manager',
    });
    const rows = got.rows as { stage: string; n: number }[];
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(expected.bossDeals);
    expect(rows.find((r) => r.stage === 'won')?.n).toBe(expected.bossWon);
    expect(expected.bossDeals).toBeGreaterThan(19_000);
    expect(expected.bossDeals).toBeLessThan(21_000);
  });
});
