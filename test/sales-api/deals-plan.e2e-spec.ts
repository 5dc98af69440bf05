import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { connect, createTenant, inTenant } from '../support/db';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Parent Relationship'?: string;
  'Actual Rows'?: number;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

const SUBTREE_LEADS = 10;
const REPS_PER_LEAD = 99;
const OUTSIDERS = 3999;
const DEALS = 100_000;

/**
 * A manager with a subtree of 1,000 people in a tenant of 5,001 people and 100,000 deals: the
 * policy resolves the visible owners once (one InitPlan, over the closure's primary key) and finds
 * the deals through deals_owner_idx, never a per-row SubPlan and never a scan of the tenant's
 * deals, on every PostgreSQL version the suite runs on (18 and 15). Before migration
 * 1764000006000 only parts of that array were sub-selects, and PostgreSQL 15 scanned the tenant's
 * deals with the array rebuilt for every row (1.5 s for a manager's list on the benchmark's data).
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
          rows: n['Actual Rows'],
        };
      });

  const expectIndexedPlan = (plan: PlanNode, rows: number) => {
    const access = dealsAccess(plan);
    expect(access).toHaveLength(1);
    expect(['Index Scan', 'Bitmap Heap Scan / Bitmap Index Scan']).toContain(access[0].path);
    expect(access[0]).toMatchObject({ index: 'deals_owner_idx', rows });
    expect(nodes(plan).filter((n) => n['Parent Relationship'] === 'SubPlan')).toEqual([]);
    const closure = nodes(plan).filter((n) => n['Relation Name'] === 'team_closure');
    expect(closure.map((n) => [n['Node Type'], n['Index Name'], n['Actual Rows']])).toEqual([
      ['Index Only Scan', 'team_closure_pkey', 1001],
    ]);
  };

  it('lists a manager of 1,000 people their deals through deals_owner_idx, with no per-row SubPlan', async () => {
    const plan = await explain(`SELECT * FROM sales.deals d ORDER BY d.created_at, d.id`);
    expectIndexedPlan(plan, expected.bossDeals);
    expect(expected.bossDeals).toBeGreaterThan(19_000);
    expect(expected.bossDeals).toBeLessThan(21_000);
  });

  it('filters by stage on the same index path', async () => {
    const plan = await explain(
      `SELECT * FROM sales.deals d WHERE d.stage = $1 ORDER BY d.created_at, d.id`,
      ['won'],
    );
    expectIndexedPlan(plan, expected.bossWon);
  });

  it('builds the pipeline report over the same index path', async () => {
    const plan = await explain(
      `SELECT d.stage, count(*)::int, sum(d.amount) FROM sales.deals d GROUP BY d.stage`,
    );
    expectIndexedPlan(plan, expected.bossDeals);
  });

  it('gives a rep of the same tenant their own deals through the same index', async () => {
    const plan = await explain(
      `SELECT * FROM sales.deals d ORDER BY d.created_at, d.id`,
      [],
      expected.rep,
      'rep',
    );
    expect(dealsAccess(plan)).toEqual([
      { path: expect.any(String), index: 'deals_owner_idx', rows: expected.repDeals },
    ]);
    expect(expected.repDeals).toBeGreaterThanOrEqual(19);
  });

  it.each([
    ['a manager', () => boss, 'manager'],
    ['a rep', () => expected.rep, 'rep'],
    ['an admin', () => boss, 'admin'],
  ])(
    "%s's first page, as GET /deals sends it: the exact 51 oldest visible deals, no per-row SubPlan",
    async (_label, userId, role) => {
      const page = `SELECT d.id FROM sales.deals d WHERE d.tenant_id = $1
                     ORDER BY d.created_at, d.id LIMIT 51`;
      const plan = await explain(page, [tenantId], userId(), role);
      expect(nodes(plan).filter((n) => n['Parent Relationship'] === 'SubPlan')).toEqual([]);
      expect(dealsAccess(plan)).toHaveLength(1);
      const visible = {
        manager: `d.owner_id IN (SELECT descendant_id FROM sales.team_closure WHERE ancestor_id = $1)`,
        rep: `d.owner_id = $1`,
        admin: `$1::uuid IS NOT NULL`,
      }[role as 'manager' | 'rep' | 'admin'];
      const want = await inTenant(
        owner,
        tenantId,
        () =>
          owner.query(
            `SELECT d.id FROM sales.deals d WHERE ${visible} ORDER BY d.created_at, d.id LIMIT 51`,
            [userId()],
          ),
        { userId: boss, role: 'admin' },
      );
      const got = await inTenant(app, tenantId, () => app.query(page, [tenantId]), {
        userId: userId(),
        role,
      });
      expect(got.rows.length).toBe(role === 'rep' ? expected.repDeals : 51);
      expect(got.rows).toEqual(want.rows);
    },
  );
});
