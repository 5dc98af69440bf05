import { Client } from 'pg';
import { connect, inTenant } from '../support/db';
import { SETTINGS_STATEMENTS, StatementCounter } from '../support/statement-counter';
import { MOVE_SUBTREE } from '../../apps/sales-api/src/team/team.service';
import {
  call,
  createOrg,
  DealKey,
  Org,
  ORG,
  Person,
  SalesHarness,
  salesSetup,
  tokenFor,
  visibleDealIds,
} from './support/sales-harness';

/** Who sees which deals of the test organisation (see ORG in the harness). */
const VISIBLE: Record<Person, DealKey[]> = {
  ada: ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10'],
  mona: ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'],
  max: ['d4', 'd5', 'd6'],
  rita: ['d1', 'd2'],
  ravi: ['d3'],
  rosa: ['d4'],
  raj: ['d5'],
  olga: ['d8', 'd9'],
  oscar: ['d9'],
};

/** The reporting tree decides deal visibility, over HTTP and in the database itself. */
describe('sales-api: deal visibility follows the reporting tree', () => {
  let h: SalesHarness;
  let app: Client;
  let org: Org;

  beforeAll(async () => {
    h = await salesSetup();
    app = await connect('app');
    org = await createOrg(h, 'hier');
  });

  afterAll(async () => {
    await app.end();
    await h.close();
  });

  const dbDealIds = (person: Person, role: string = ORG[person].role) =>
    inTenant(
      app,
      org.tenantId,
      async () =>
        (await app.query(`SELECT id FROM sales.deals ORDER BY id`)).rows.map(
          (r: { id: string }) => r.id,
        ),
      { userId: org.user[person], role },
    );

  it.each(Object.entries(VISIBLE))(
    'GET /deals as %s returns exactly their deals',
    async (p, keys) => {
      expect(await visibleDealIds(h, org.token[p as Person])).toEqual(org.ids(...keys));
    },
  );

  it('a rep sees only the deals they own', async () => {
    expect(await visibleDealIds(h, org.token.rita)).toEqual(org.ids('d1', 'd2'));
  });

  it('a manager sees their own deals and their direct reports', async () => {
    expect(await visibleDealIds(h, org.token.max)).toEqual(org.ids('d4', 'd5', 'd6'));
  });

  it('a manager of managers sees the whole subtree, transitively', async () => {
    expect(await visibleDealIds(h, org.token.mona)).toEqual(
      org.ids('d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'),
    );
  });

  it('an admin sees every deal of the tenant', async () => {
    expect(await visibleDealIds(h, org.token.ada)).toEqual(org.ids(...VISIBLE.ada));
  });

  it("a manager does not see a sibling manager's team, nor their own manager's deals", async () => {
    const olga = await visibleDealIds(h, org.token.olga);
    expect(olga).not.toContain(org.deal.d4);
    expect(olga).not.toContain(org.deal.d10);
    expect(await visibleDealIds(h, org.token.max)).not.toContain(org.deal.d7);
  });

  it.each(Object.entries(VISIBLE))(
    'the database alone (app role, settings only, no app code) gives %s the same deal ids',
    async (p, keys) => {
      expect(await dbDealIds(p as Person)).toEqual(org.ids(...keys));
      expect(await dbDealIds(p as Person)).toEqual(await visibleDealIds(h, org.token[p as Person]));
    },
  );

  it('the database shows nothing to an unknown role, a missing user or a missing tenant', async () => {
    expect(await dbDealIds('mona', 'auditor')).toEqual([]);
    expect(await dbDealIds('mona', '')).toEqual([]);
    const noUser = await inTenant(
      app,
      org.tenantId,
      async () => (await app.query(`SELECT id FROM sales.deals`)).rows,
      { role: 'manager' },
    );
    expect(noUser).toEqual([]);
    const noTenant = await inTenant(
      app,
      null,
      async () => (await app.query(`SELECT id FROM sales.deals`)).rows,
      { userId: org.user.ada, role: 'admin' },
    );
    expect(noTenant).toEqual([]);
  });

  it("runs each request's transaction in the role sales.request_role() names, once the settings are written", async () => {
    const counter = new StatementCounter().install();
    try {
      const sent = await counter.during(() =>
        call(h.app, 'get', '/deals?limit=5', org.token.mona).expect(200),
      );
      const role = `set_config('role', COALESCE("sales"."request_role"(), 'none'), true)`;
      const applied = sent.map((sql, i) => ({ sql, i })).filter(({ sql }) => sql.includes(role));
      expect(applied.length).toBeGreaterThanOrEqual(1);
      for (const { sql, i } of applied) {
        if (SETTINGS_STATEMENTS === 1) {
          expect(sql).toMatch(
            /^SELECT settings\.\*, set_config\('role', .* FROM \(SELECT set_config\(\$1, \$2, true\)/,
          );
        } else {
          expect(sql).toBe(`SELECT ${role}`);
          const begin = sent.lastIndexOf('START TRANSACTION', i);
          const before = sent.slice(begin + 1, i).filter((s) => s.startsWith('SET LOCAL "app".'));
          expect(before).toHaveLength(4);
        }
      }
      expect(sent.filter((sql) => /^SELECT set_config\(\$1/.test(sql))).toEqual([]);
    } finally {
      counter.uninstall();
    }
  });

  it('GET /deals/:id is 404 for a deal outside the caller subtree and 200 inside it', async () => {
    await call(h.app, 'get', `/deals/${org.deal.d1}`, org.token.max).expect(404);
    await call(h.app, 'get', `/deals/${org.deal.d4}`, org.token.mona).expect(200);
    await call(h.app, 'get', `/deals/${org.deal.d9}`, org.token.olga).expect(200);
    await call(h.app, 'get', `/deals/${org.deal.d9}`, org.token.rita).expect(404);
  });

  describe('a re-org', () => {
    let reorg: Org;

    beforeAll(async () => {
      reorg = await createOrg(h, 'reorg');
    });

    const put = (person: Person, manager: Person | null) =>
      call(h.app, 'put', `/team/members/${reorg.user[person]}`, reorg.token.ada, {
        name: person,
        managerId: manager ? reorg.user[manager] : null,
      });

    it('takes effect on the next request: moving max (and his team) from mona to olga', async () => {
      expect(await visibleDealIds(h, reorg.token.olga)).toEqual(reorg.ids('d8', 'd9'));
      await put('max', 'olga').expect(200);
      expect(await visibleDealIds(h, reorg.token.olga)).toEqual(
        reorg.ids('d4', 'd5', 'd6', 'd8', 'd9'),
      );
      expect(await visibleDealIds(h, reorg.token.mona)).toEqual(reorg.ids('d1', 'd2', 'd3', 'd7'));
      expect(await visibleDealIds(h, reorg.token.max)).toEqual(reorg.ids('d4', 'd5', 'd6'));
    });

    it('a promotion: rita becomes manager of ravi and sees his deals with a manager token', async () => {
      await put('ravi', 'rita').expect(200);
      const token = tokenFor(reorg.tenantId, reorg.user.rita, 'manager');
      expect(await visibleDealIds(h, token)).toEqual(reorg.ids('d1', 'd2', 'd3'));
      expect(await visibleDealIds(h, reorg.token.rita)).toEqual(reorg.ids('d1', 'd2'));
      expect(await visibleDealIds(h, reorg.token.mona)).toEqual(reorg.ids('d1', 'd2', 'd3', 'd7'));
    });

    it('moving a whole subtree to the top and back keeps every chain exact, of members and of deals', async () => {
      await put('olga', null).expect(200);
      expect(await visibleDealIds(h, reorg.token.olga)).toEqual(
        reorg.ids('d4', 'd5', 'd6', 'd8', 'd9'),
      );
      await put('olga', 'mona').expect(200);
      expect(await visibleDealIds(h, reorg.token.mona)).toEqual(
        reorg.ids('d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9'),
      );
      const name = (id: string) => Object.entries(reorg.user).find(([, u]) => u === id)![0];
      const { members, deals } = await inTenant(
        app,
        reorg.tenantId,
        async () => ({
          members: (
            await app.query<{ user_id: string; chain: string[] }>(
              `SELECT user_id, chain FROM sales.team_members ORDER BY name`,
            )
          ).rows,
          deals: (
            await app.query<{ owner_id: string; owner_chain: string[] }>(
              `SELECT owner_id, owner_chain FROM sales.deals`,
            )
          ).rows,
        }),
        { userId: reorg.user.ada, role: 'admin' },
      );
      expect(
        Object.fromEntries(members.map((m) => [name(m.user_id), m.chain.map(name).join(' > ')])),
      ).toEqual({
        ada: 'ada',
        mona: 'ada > mona',
        olga: 'ada > mona > olga',
        rita: 'ada > mona > rita',
        max: 'ada > mona > olga > max',
        ravi: 'ada > mona > rita > ravi',
        oscar: 'ada > mona > olga > oscar',
        rosa: 'ada > mona > olga > max > rosa',
        raj: 'ada > mona > olga > max > raj',
      });
      const chainOf = new Map(members.map((m) => [m.user_id, m.chain]));
      expect(deals).toHaveLength(10);
      for (const d of deals) expect(d.owner_chain).toEqual(chainOf.get(d.owner_id));
    });

    it('rejects a cycle with 409 and changes nothing: a manager under their own report', async () => {
      const before = (await call(h.app, 'get', '/team/members', reorg.token.ada).expect(200)).body;
      const res = await put('mona', 'rosa').expect(409);
      expect(res.body).toEqual({
        statusCode: 409,
        message: expect.stringContaining('managerId'),
        error: 'Conflict',
      });
      await put('mona', 'mona').expect(409);
      await put('olga', 'oscar').expect(409);
      expect((await call(h.app, 'get', '/team/members', reorg.token.ada).expect(200)).body).toEqual(
        before,
      );
      expect(await visibleDealIds(h, reorg.token.rosa)).toEqual(reorg.ids('d4'));
    });

    it('two concurrent moves that together make a cycle cannot both commit: the second fails its foreign key', async () => {
      const second = await connect('app');
      const asAdmin = [reorg.tenantId, reorg.user.ada, 'admin'];
      const chain = async (c: Client, person: Person) =>
        (
          await c.query<{ chain: string[] }>(
            `SELECT chain FROM sales.team_members WHERE user_id = $1`,
            [reorg.user[person]],
          )
        ).rows[0].chain;
      try {
        for (const c of [app, second]) {
          await c.query('BEGIN');
          await c.query(
            `SELECT set_config('app.tenant_id', $1, true), set_config('app.user_id', $2, true), set_config('app.role', $3, true)`,
            asAdmin,
          );
        }
        const oscarChain = await chain(app, 'oscar');
        const ritaChain = await chain(second, 'rita');
        // Each reads the other's chain before either writes, as two requests would.
        await app.query(MOVE_SUBTREE, [
          reorg.tenantId,
          reorg.user.rita,
          oscarChain,
          reorg.user.oscar,
          'rita',
        ]);
        let settled = false;
        const blocked = second
          .query(MOVE_SUBTREE, [
            reorg.tenantId,
            reorg.user.oscar,
            ritaChain,
            reorg.user.rita,
            'oscar',
          ])
          .finally(() => {
            settled = true;
          });
        blocked.catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        expect(settled).toBe(false);
        await app.query('COMMIT');
        await expect(blocked).rejects.toMatchObject({
          code: '23503',
          constraint: 'team_members_manager_chain_fk',
        });
        await second.query('ROLLBACK');
      } finally {
        await second.end();
      }
      expect(
        await visibleDealIds(h, tokenFor(reorg.tenantId, reorg.user.oscar, 'manager')),
      ).toEqual(reorg.ids('d1', 'd2', 'd3', 'd9'));
    });

    it('the database itself refuses a cycle and a wrong chain, even written directly as the admin role', async () => {
      const asAdmin = { userId: reorg.user.ada, role: 'admin' };
      const write = (sql: string) =>
        inTenant(
          app,
          reorg.tenantId,
          () => app.query(sql, [reorg.user.raj, reorg.user.mona]),
          asAdmin,
        );
      await expect(
        write(
          `UPDATE sales.team_members SET manager_id = $1,
                  manager_chain = (SELECT chain FROM sales.team_members WHERE user_id = $1)
            WHERE user_id = $2`,
        ),
      ).rejects.toMatchObject({ code: '23514', constraint: 'team_members_no_cycle' });
      await expect(
        write(`UPDATE sales.team_members SET manager_id = $1 WHERE user_id = $2`),
      ).rejects.toMatchObject({ code: '23503', constraint: 'team_members_manager_chain_fk' });
      await expect(
        write(`UPDATE sales.deals SET owner_chain = ARRAY[$1::uuid, $2::uuid] WHERE owner_id = $2`),
      ).rejects.toMatchObject({ code: '23503', constraint: 'deals_owner_chain_fk' });
    });
  });
});
