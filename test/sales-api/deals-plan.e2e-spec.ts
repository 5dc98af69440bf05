import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { managerRole } from '../../migrations/1764000013500-ReportingChains';
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
 * A manager with a subtree of 1,000 people (a large team) and a lead with 99 (a small one) in a
 * tenant of 5,001 people and 100,000 deals, queried as sales-api queries (the tenant named, a
 * rep's id too, each manager in the manager request role, the policies deciding): the
 * plan fits the caller on every PostgreSQL version the suite runs on (18 and 15). The large team's
 * or an admin's first page walks deals_oldest_idx and stops after a few hundred rows, checking each
 * row's owner chain; a small team's deals come through the GIN index of owner_chain, a rep's through
 * deals_owner_idx (since migration 1764000013500; before it the subtree came from the closure
 * table, hashed once per statement for a large team, an array for a small one). Until
 * migration 1764000007000 every manager had the owner-array policy that PostgreSQL assumed held 10
 * owners, and the large team's page read every visible deal through deals_owner_idx and sorted them;
 * from it until migration 1764000010000, every manager had the hashed check, and the query named
 * the subtree too, so that PostgreSQL looked it up twice.
 */
describe('sales-api: the hierarchy policy at scale (EXPLAIN)', () => {
  let owner: Client;
  let app: Client;
  let tenantId: string;
  const boss = randomUUID();
  const outsideBoss = randomUUID();
  const expected = { bossDeals: 0, bossWon: 0, rep: '', repDeals: 0, lead: '', leadDeals: 0 };

  const generate = async () => {
    const insertMembers = (sql: string, params: unknown[]) =>
      owner.query(
        `INSERT INTO sales.team_members (tenant_id, user_id, name, manager_id, manager_chain) ${sql}`,
        params,
      );
    await insertMembers(
      `VALUES ($1, $2, 'boss', NULL, NULL), ($1, $3, 'outside boss', NULL, NULL)`,
      [tenantId, boss, outsideBoss],
    );
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'lead ' || g, $2, ARRAY[$2::uuid] FROM generate_series(1, $3::int) g`,
      [tenantId, boss, SUBTREE_LEADS],
    );
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'rep ' || g, l.user_id, l.chain
         FROM sales.team_members l CROSS JOIN generate_series(1, $3::int) g
        WHERE l.manager_id = $2`,
      [tenantId, boss, REPS_PER_LEAD],
    );
    await insertMembers(
      `SELECT $1, gen_random_uuid(), 'outsider ' || g, $2, ARRAY[$2::uuid]
         FROM generate_series(1, $3::int) g`,
      [tenantId, outsideBoss, OUTSIDERS],
    );
    await owner.query(
      `INSERT INTO sales.accounts (tenant_id, name)
       SELECT $1, 'account ' || g FROM generate_series(1, 100) g`,
      [tenantId],
    );
    await owner.query(
      `INSERT INTO sales.deals (tenant_id, account_id, title, amount, stage, owner_id, owner_chain)
       SELECT $1, a.ids[g % 100 + 1], 'deal ' || g, g % 1000,
              (ARRAY['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'])[g % 6 + 1],
              o.user_id, o.chain
         FROM generate_series(1, $2::int) g
        CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM sales.accounts) a
        CROSS JOIN (SELECT array_agg(user_id ORDER BY user_id) AS ids, count(*)::int AS n
                      FROM sales.team_members) m
         JOIN sales.team_members o ON o.tenant_id = $1 AND o.user_id = m.ids[g % m.n + 1]`,
      [tenantId, DEALS],
    );
    const counts = await owner.query(
      `WITH boss_deals AS (
         SELECT d.stage FROM sales.deals d
           JOIN sales.team_members m ON m.user_id = d.owner_id
          WHERE m.chain @> ARRAY[$1::uuid]),
       rep AS (SELECT user_id FROM sales.team_members WHERE name = 'rep 1' ORDER BY user_id LIMIT 1),
       lead AS (SELECT user_id FROM sales.team_members WHERE name = 'lead 1')
       SELECT (SELECT count(*)::int FROM sales.team_members WHERE chain @> ARRAY[$1::uuid]) - 1 AS below,
              (SELECT count(*)::int FROM sales.team_members) AS people,
              (SELECT count(*)::int FROM sales.deals) AS deals,
              (SELECT count(*)::int FROM boss_deals) AS boss_deals,
              (SELECT count(*)::int FROM boss_deals WHERE stage = 'won') AS boss_won,
              (SELECT user_id FROM rep) AS rep,
              (SELECT count(*)::int FROM sales.deals WHERE owner_id = (SELECT user_id FROM rep)) AS rep_deals,
              (SELECT user_id FROM lead) AS lead,
              (SELECT count(*)::int FROM sales.team_members
                WHERE chain @> ARRAY[(SELECT user_id FROM lead)]) AS lead_team,
              (SELECT count(*)::int FROM sales.deals d JOIN sales.team_members m ON m.user_id = d.owner_id
                WHERE m.chain @> ARRAY[(SELECT user_id FROM lead)]) AS lead_deals`,
      [boss],
    );
    const c = counts.rows[0];
    expect([c.below, c.people, c.deals, c.lead_team]).toEqual([1000, 5001, DEALS, 100]);
    Object.assign(expected, {
      bossDeals: c.boss_deals,
      bossWon: c.boss_won,
      rep: c.rep,
      repDeals: c.rep_deals,
      lead: c.lead,
      leadDeals: c.lead_deals,
    });
  };

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    tenantId = await createTenant(owner, 'plan');
    await inTenant(owner, tenantId, generate, { userId: boss, role: 'admin' });
    await owner.query('ANALYZE sales.team_members, sales.accounts, sales.deals');
    // 100,000 audited deals and their indexes: ~10 s alone, minutes in a full run on a busy machine.
  }, 480_000);

  afterAll(async () => {
    await owner.end();
    await app.end();
  });

  /** Runs `fn` in a transaction of `role` as sales-api opens them: its settings and request role. */
  const asCaller = <T>(userId: string, role: string, fn: () => Promise<T>, requestRole = true) =>
    inTenant(app, tenantId, fn, {
      userId,
      role,
      requestRoleFunction: requestRole ? 'sales.request_role' : undefined,
    });

  const explain = (sql: string, params: unknown[], userId: string, role: string) =>
    asCaller(userId, role, async () => {
      const res = await app.query(
        `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ${sql}`,
        params,
      );
      return res.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    });

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
   * Every SubPlan ran at most once per process (the leader and any parallel workers): nothing of
   * a policy runs per row as a query (since migration 1764000013500 the policies have no sub-select).
   */
  const expectNoPerRowSubPlan = (plan: PlanNode) => {
    const processes = 1 + nodes(plan).reduce((n, p) => n + (p['Workers Launched'] ?? 0), 0);
    expect(
      nodes(plan)
        .filter((n) => n['Parent Relationship'] === 'SubPlan')
        .filter((n) => (n['Actual Loops'] ?? 0) > processes),
    ).toEqual([]);
  };

  type Caller = 'boss' | 'lead' | 'rep' | 'admin';
  const callers: Record<Caller, { role: string; user: () => string }> = {
    boss: { role: 'manager', user: () => boss },
    lead: { role: 'manager', user: () => expected.lead },
    rep: { role: 'rep', user: () => expected.rep },
    admin: { role: 'admin', user: () => boss },
  };

  /** A first page of deals as sales-api sends it (callerDealsQuery): the tenant, and a rep's id. */
  const pageSql = (who: Caller) =>
    `SELECT d.id FROM sales.deals d WHERE d.tenant_id = $1
        ${who === 'rep' ? 'AND d.owner_id = $2' : ''} ORDER BY d.created_at, d.id LIMIT 51`;
  const pageParams = (who: Caller) => (who === 'rep' ? [tenantId, expected.rep] : [tenantId]);

  /** The plan of the caller's first page, in the caller's transaction as sales-api opens it. */
  const firstPagePlan = (who: Caller) =>
    explain(pageSql(who), pageParams(who), callers[who].user(), callers[who].role);

  /** The caller's first page computed by the owner, without RLS. */
  const expectedPage = async (who: Caller) => {
    const visible = {
      boss: `d.owner_id IN (SELECT user_id FROM sales.team_members WHERE chain @> ARRAY[$1::uuid])`,
      lead: `d.owner_id IN (SELECT user_id FROM sales.team_members WHERE chain @> ARRAY[$1::uuid])`,
      rep: `d.owner_id = $1`,
      admin: `$1::uuid IS NOT NULL`,
    }[who];
    const want = await inTenant(
      owner,
      tenantId,
      () =>
        owner.query(
          `SELECT d.id FROM sales.deals d WHERE ${visible} ORDER BY d.created_at, d.id LIMIT 51`,
          [callers[who].user()],
        ),
      { userId: boss, role: 'admin' },
    );
    return want.rows;
  };

  it('runs every manager as the manager request role, anyone else as the application role', async () => {
    const seen: Record<string, unknown> = {};
    for (const who of ['boss', 'lead', 'rep', 'admin'] as Caller[]) {
      seen[who] = await asCaller(
        callers[who].user(),
        callers[who].role,
        async () => (await app.query(`SELECT current_user AS role`)).rows[0].role,
      );
    }
    seen.stranger = await asCaller(
      boss,
      'auditor',
      async () => (await app.query(`SELECT current_user AS role`)).rows[0].role,
    );
    const session = (await app.query(`SELECT current_user AS role`)).rows[0].role;
    const manager = managerRole(session);
    expect(seen).toEqual({
      boss: manager,
      lead: manager,
      rep: session,
      admin: session,
      stranger: session,
    });
  });

  it.each(['boss', 'admin'] as Caller[])(
    '%s (1,000 people below / the whole tenant): the first page walks deals_oldest_idx and reads under 1,000 rows, not every visible deal',
    async (who) => {
      const plan = await firstPagePlan(who);
      const access = dealsAccess(plan);
      expect(access).toHaveLength(1);
      expect(access[0]).toMatchObject({ path: 'Index Scan', index: 'deals_oldest_idx' });
      expect(access[0].read).toBeLessThan(1_000);
      expectNoPerRowSubPlan(plan);
    },
  );

  it('rep (none below): the first page comes through deals_owner_idx, reading only their deals', async () => {
    const plan = await firstPagePlan('rep');
    expect(dealsAccess(plan)).toEqual([
      { path: expect.any(String), index: 'deals_owner_idx', read: expected.repDeals },
    ]);
    expect(expected.repDeals).toBeGreaterThanOrEqual(19);
    expectNoPerRowSubPlan(plan);
  });

  it("lead (99 people below, 2 % of the deals): the first page reads a few thousand rows at most, through owner_chain's GIN index or the oldest-first walk", async () => {
    // The manager's policy is restrictive and sorts first, so it can drive the GIN index, and
    // PostgreSQL estimates `owner_chain @> ARRAY[<the lead>]` from the column's element statistics
    // (it folds the setting when it plans): it takes the index for a team with few deals, and walks
    // the oldest-first index when the team's share makes 51 rows come soon (2 % here: ~2,500 rows).
    const plan = await firstPagePlan('lead');
    const access = dealsAccess(plan);
    expect(access).toHaveLength(1);
    if (access[0].index === 'deals_owner_chain_idx') {
      expect(access[0]).toEqual({
        path: 'Bitmap Heap Scan / Bitmap Index Scan',
        index: 'deals_owner_chain_idx',
        read: expected.leadDeals,
      });
    } else {
      expect(access[0]).toMatchObject({ path: 'Index Scan', index: 'deals_oldest_idx' });
      expect(access[0].read).toBeLessThan(5_000);
    }
    expect(expected.leadDeals).toBeGreaterThanOrEqual(1_900);
    expectNoPerRowSubPlan(plan);
  });

  it.each(['boss', 'lead', 'rep', 'admin'] as Caller[])(
    'gives %s the exact 51 oldest visible deals, in its request role and as the application role',
    async (who) => {
      const want = await expectedPage(who);
      expect(want.length).toBe(who === 'rep' ? expected.repDeals : 51);
      const alone = `SELECT d.id FROM sales.deals d ORDER BY d.created_at, d.id LIMIT 51`;
      for (const requestRole of [true, false]) {
        for (const [sql, params] of [
          [pageSql(who), pageParams(who)],
          [alone, []],
        ] as const) {
          const got = await asCaller(
            callers[who].user(),
            callers[who].role,
            () => app.query(sql, [...params]),
            requestRole,
          );
          expect(got.rows).toEqual(want);
        }
      }
    },
  );

  it.each(['boss', 'lead'] as Caller[])(
    '%s may write deals of their subtree in their request role, and no deal outside it',
    async (who) => {
      const rows = await inTenant(
        owner,
        tenantId,
        () =>
          owner.query(
            `SELECT (SELECT user_id FROM sales.team_members
                  WHERE chain @> ARRAY[$1::uuid] AND user_id <> $1 ORDER BY 1 LIMIT 1) AS inside,
                (SELECT user_id FROM sales.team_members WHERE manager_id = $2 ORDER BY 1 LIMIT 1) AS outside,
                (SELECT id FROM sales.accounts ORDER BY 1 LIMIT 1) AS account`,
            [callers[who].user(), outsideBoss],
          ),
        { userId: boss, role: 'admin' },
      );
      const { inside, outside, account } = rows.rows[0];
      const insert = (ownerId: string) =>
        asCaller(callers[who].user(), 'manager', () =>
          app.query(
            `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain)
             VALUES ($1, $2, 'written by ' || $3, 1, $4,
                     (SELECT chain FROM sales.team_members WHERE user_id = $4)) RETURNING owner_id`,
            [tenantId, account, who, ownerId],
          ),
        );
      await expect(insert(outside)).rejects.toMatchObject({ code: '42501' });
      const written = await insert(inside);
      expect(written.rows).toEqual([{ owner_id: inside }]);
      const moved = await asCaller(callers[who].user(), 'manager', () =>
        app.query(
          `UPDATE sales.deals
              SET owner_id = $1, owner_chain = (SELECT chain FROM sales.team_members WHERE user_id = $1)
            WHERE title = 'written by ' || $2`,
          [outside, who],
        ),
      ).catch((e: { code?: string }) => e.code);
      expect(moved).toBe('42501');
      await inTenant(
        owner,
        tenantId,
        () => owner.query(`DELETE FROM sales.deals WHERE title = 'written by ' || $1`, [who]),
        { userId: boss, role: 'admin' },
      );
    },
  );

  it("builds a manager's pipeline report from exactly their subtree's deals, each read once", async () => {
    const report = `SELECT d.stage, count(*)::int AS n FROM sales.deals d
                     WHERE d.tenant_id = $1 GROUP BY d.stage`;
    for (const who of ['boss', 'lead'] as Caller[]) {
      const plan = await explain(report, [tenantId], callers[who].user(), 'manager');
      expectNoPerRowSubPlan(plan);
      const access = dealsAccess(plan);
      if (who === 'lead') {
        expect(access).toEqual([
          {
            path: 'Bitmap Heap Scan / Bitmap Index Scan',
            index: 'deals_owner_chain_idx',
            read: expected.leadDeals,
          },
        ]);
      }
      const got = await asCaller(callers[who].user(), 'manager', () =>
        app.query(report, [tenantId]),
      );
      const rows = got.rows as { stage: string; n: number }[];
      const deals = who === 'boss' ? expected.bossDeals : expected.leadDeals;
      expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(deals);
    }
    const boss = await asCaller(callers.boss.user(), 'manager', () =>
      app.query(report, [tenantId]),
    );
    expect(boss.rows.find((r: { stage: string }) => r.stage === 'won')?.n).toBe(expected.bossWon);
    expect(expected.bossDeals).toBeGreaterThan(19_000);
    expect(expected.bossDeals).toBeLessThan(21_000);
  });
});
