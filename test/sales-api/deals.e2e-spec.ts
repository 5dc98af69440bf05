import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { encodeKeysetCursor } from '@app/demo-kit';
import { connect, inTenant } from '../support/db';
import {
  call,
  createOrg,
  Org,
  SalesHarness,
  salesSetup,
  storedDeals,
  tokenFor,
  visibleDealIds,
} from './support/sales-harness';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Creating, reading, changing and deleting deals, per role, across tenants, with bad input. */
describe('sales-api: deals', () => {
  let h: SalesHarness;
  let org: Org;
  let other: Org;
  let db: Client;

  beforeAll(async () => {
    h = await salesSetup();
    db = await connect('app');
    org = await createOrg(h, 'deals');
    other = await createOrg(h, 'deals-other');
  });

  afterAll(async () => {
    await db.end();
    await h.close();
  });

  const newDeal = (extra: object = {}) => ({
    accountId: org.accounts.main,
    title: 'New deal',
    amount: 1234.56,
    ...extra,
  });

  describe('POST /deals', () => {
    it('is 201 with the deal; stage defaults to prospecting and ownerId to the caller', async () => {
      const res = await call(h.app, 'post', '/deals', org.token.rita, newDeal()).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        accountId: org.accounts.main,
        title: 'New deal',
        amount: 1234.56,
        stage: 'prospecting',
        ownerId: org.user.rita,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
      expect(await storedDeals(h.owner, org.tenantId)).toContainEqual({
        id: res.body.id,
        title: 'New deal',
        amount: '1234.56',
        stage: 'prospecting',
        owner_id: org.user.rita,
      });
    });

    it('stores whole amounts, zero and the largest numeric(14,2), and returns JSON numbers', async () => {
      for (const amount of [0, 7, 999999999999.99]) {
        const res = await call(h.app, 'post', '/deals', org.token.ada, newDeal({ amount })).expect(
          201,
        );
        expect(res.body.amount).toBe(amount);
      }
    });

    it('a rep may own only themselves: another team member is 403 and nothing is written', async () => {
      const before = await storedDeals(h.owner, org.tenantId);
      await call(
        h.app,
        'post',
        '/deals',
        org.token.rita,
        newDeal({ ownerId: org.user.rita, stage: 'won' }),
      ).expect(201);
      const after = await storedDeals(h.owner, org.tenantId);
      for (const owner of [org.user.ravi, org.user.mona, org.user.oscar]) {
        const res = await call(
          h.app,
          'post',
          '/deals',
          org.token.rita,
          newDeal({ ownerId: owner }),
        ).expect(403);
        expect(res.body.error).toBe('Forbidden');
        expect(res.body.message).toMatch(/^ownerId: /);
      }
      expect(after).toHaveLength(before.length + 1);
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(after);
    });

    it('a manager may own for themselves and anyone in their subtree, at any depth', async () => {
      for (const owner of ['mona', 'max', 'rita', 'rosa'] as const) {
        const res = await call(
          h.app,
          'post',
          '/deals',
          org.token.mona,
          newDeal({ ownerId: org.user[owner] }),
        ).expect(201);
        expect(res.body.ownerId).toBe(org.user[owner]);
      }
    });

    it('a manager may not own for their own manager, a peer or a peer team: 403, nothing written', async () => {
      const before = await storedDeals(h.owner, org.tenantId);
      for (const owner of ['ada', 'olga', 'oscar'] as const) {
        await call(
          h.app,
          'post',
          '/deals',
          org.token.mona,
          newDeal({ ownerId: org.user[owner] }),
        ).expect(403);
      }
      await call(
        h.app,
        'post',
        '/deals',
        org.token.max,
        newDeal({ ownerId: org.user.mona }),
      ).expect(403);
      await call(
        h.app,
        'post',
        '/deals',
        org.token.max,
        newDeal({ ownerId: org.user.rita }),
      ).expect(403);
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(before);
    });

    it('an admin may own for any team member; an unknown owner is 404 and nothing is written', async () => {
      const res = await call(
        h.app,
        'post',
        '/deals',
        org.token.ada,
        newDeal({ ownerId: org.user.oscar }),
      ).expect(201);
      expect(res.body.ownerId).toBe(org.user.oscar);
      const before = await storedDeals(h.owner, org.tenantId);
      const missing = await call(
        h.app,
        'post',
        '/deals',
        org.token.ada,
        newDeal({ ownerId: randomUUID() }),
      ).expect(404);
      expect(missing.body.message).toMatch(/^ownerId: team member .* not found$/);
      await call(
        h.app,
        'post',
        '/deals',
        org.token.ada,
        newDeal({ ownerId: other.user.rita }),
      ).expect(404);
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(before);
    });

    it("an owner who is no team member here (unknown, or another tenant's) is 404 for every role", async () => {
      const before = await storedDeals(h.owner, org.tenantId);
      for (const who of ['rita', 'mona', 'ada'] as const) {
        for (const ownerId of [randomUUID(), other.user[who]]) {
          const res = await call(
            h.app,
            'post',
            '/deals',
            org.token[who],
            newDeal({ ownerId }),
          ).expect(404);
          expect(res.body).toEqual({
            statusCode: 404,
            message: `ownerId: team member ${ownerId} not found`,
            error: 'Not Found',
          });
        }
      }
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(before);
    });

    it('accepts an ownerId in upper case as the same person', async () => {
      const res = await call(
        h.app,
        'post',
        '/deals',
        org.token.raj,
        newDeal({ ownerId: org.user.raj.toUpperCase() }),
      ).expect(201);
      expect(res.body.ownerId).toBe(org.user.raj);
    });

    it('a caller who is not a team member yet cannot own deals: 404 naming ownerId', async () => {
      const token = tokenFor(org.tenantId, randomUUID(), 'rep');
      const res = await call(h.app, 'post', '/deals', token, newDeal()).expect(404);
      expect(res.body.message).toMatch(/^ownerId: team member .* not found$/);
    });

    it("another tenant's or an unknown accountId is 404 and nothing is written anywhere", async () => {
      const mine = await storedDeals(h.owner, org.tenantId);
      const theirs = await storedDeals(h.owner, other.tenantId);
      for (const accountId of [other.accounts.main, randomUUID()]) {
        const res = await call(
          h.app,
          'post',
          '/deals',
          org.token.ada,
          newDeal({ accountId }),
        ).expect(404);
        expect(res.body).toEqual({
          statusCode: 404,
          message: `accountId: account ${accountId} not found`,
          error: 'Not Found',
        });
      }
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(mine);
      expect(await storedDeals(h.owner, other.tenantId)).toEqual(theirs);
    });
  });

  describe('GET /deals and GET /deals/:id', () => {
    it('GET /deals/:id is 200 with the exact deal for its owner', async () => {
      const res = await call(h.app, 'get', `/deals/${org.deal.d4}`, org.token.rosa).expect(200);
      expect(res.body).toEqual({
        id: org.deal.d4,
        accountId: org.accounts.main,
        title: 'deals d4',
        amount: 2000.25,
        stage: 'negotiation',
        ownerId: org.user.rosa,
        createdAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
    });

    it('GET /deals?stage= filters within what the caller may see', async () => {
      expect(await visibleDealIds(h, other.token.ada, '?stage=won')).toEqual(
        other.ids('d2', 'd5', 'd9'),
      );
      expect(await visibleDealIds(h, other.token.mona, '?stage=won')).toEqual(
        other.ids('d2', 'd5'),
      );
      expect(await visibleDealIds(h, other.token.max, '?stage=won')).toEqual(other.ids('d5'));
      expect(await visibleDealIds(h, other.token.rita, '?stage=won')).toEqual(other.ids('d2'));
      expect(await visibleDealIds(h, other.token.rita, '?stage=proposal')).toEqual([]);
    });

    it("GET /deals/:id of another tenant's deal is 404, even for an admin", async () => {
      const res = await call(h.app, 'get', `/deals/${other.deal.d1}`, org.token.ada).expect(404);
      expect(res.body).toEqual({
        statusCode: 404,
        message: `deal ${other.deal.d1} not found`,
        error: 'Not Found',
      });
    });

    it("GET /deals never lists another tenant's deals", async () => {
      const mine = await visibleDealIds(h, org.token.ada);
      for (const id of Object.values(other.deal)) expect(mine).not.toContain(id);
    });
  });

  describe('GET /deals pages, oldest first', () => {
    let paged: Org;
    /** Every deal of `paged` in listing order (created_at, id), with its owner. */
    let all: { id: string; owner_id: string }[];

    beforeAll(async () => {
      paged = await createOrg(h, 'deals-pages');
      const asAdmin = { userId: paged.user.ada, role: 'admin' };
      // 120 more deals over the whole tree, three to a millisecond: pages must break ties by id.
      await inTenant(
        h.owner,
        paged.tenantId,
        () =>
          h.owner.query(
            `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain, created_at)
           SELECT $1, $2, 'bulk ' || n, n, m.user_id, m.chain,
                  timestamptz '2026-01-01' + (n / 3) * interval '1 millisecond'
             FROM generate_series(1, 120) n
             JOIN sales.team_members m ON m.user_id = ($3::uuid[])[n % 9 + 1]`,
            [paged.tenantId, paged.accounts.main, Object.values(paged.user)],
          ),
        asAdmin,
      );
      all = (
        await inTenant(
          h.owner,
          paged.tenantId,
          () =>
            h.owner.query<{ id: string; owner_id: string }>(
              `SELECT id::text, owner_id::text FROM sales.deals WHERE tenant_id = $1
              ORDER BY created_at, id`,
              [paged.tenantId],
            ),
          asAdmin,
        )
      ).rows;
    });

    const walk = async (token: string, limit: number, query = '') => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/deals?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await call(h.app, 'get', url, token).expect(200);
        seen.push(...res.body.items.map((d: { id: string }) => d.id));
        sizes.push(res.body.items.length);
        cursor = res.body.nextCursor;
      } while (cursor);
      return { seen, sizes };
    };

    const visibleDealIdsInOrder = async (token: string, query: string) =>
      (await call(h.app, 'get', `/deals${query}`, token).expect(200)).body.items.map(
        (d: { id: string }) => d.id,
      );

    it('a manager pages through exactly the subtree, in order, each deal once', async () => {
      const subtree = new Set(
        ['mona', 'max', 'rita', 'ravi', 'rosa', 'raj'].map(
          (p) => paged.user[p as keyof Org['user']],
        ),
      );
      const expected = all.filter((d) => subtree.has(d.owner_id)).map((d) => d.id);
      expect(expected.length).toBeGreaterThan(80);
      const { seen, sizes } = await walk(paged.token.mona, 7);
      expect(seen).toEqual(expected);
      expect(sizes.slice(0, -1).every((n) => n === 7)).toBe(true);
    });

    it('an admin pages through every deal of the tenant; a rep through their own', async () => {
      expect((await walk(paged.token.ada, 13)).seen).toEqual(all.map((d) => d.id));
      expect((await walk(paged.token.rita, 4)).seen).toEqual(
        all.filter((d) => d.owner_id === paged.user.rita).map((d) => d.id),
      );
    });

    it('50 by default, up to 100 with limit=100, and the cursor carries on from there', async () => {
      const first = await call(h.app, 'get', '/deals', paged.token.ada).expect(200);
      expect(first.body.items.map((d: { id: string }) => d.id)).toEqual(
        all.slice(0, 50).map((d) => d.id),
      );
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const max = await call(h.app, 'get', '/deals?limit=100', paged.token.ada).expect(200);
      expect(max.body.items).toHaveLength(100);
      const rest = await call(
        h.app,
        'get',
        `/deals?limit=100&cursor=${max.body.nextCursor}`,
        paged.token.ada,
      ).expect(200);
      expect(rest.body.items.map((d: { id: string }) => d.id)).toEqual(
        all.slice(100).map((d) => d.id),
      );
      expect(rest.body.nextCursor).toBeNull();
    });

    it('a stage filter pages with the same cursor', async () => {
      const { seen } = await walk(paged.token.mona, 2, '&stage=won');
      expect(seen).toEqual(await visibleDealIdsInOrder(paged.token.mona, '?stage=won&limit=100'));
      expect(seen).toEqual(expect.arrayContaining([paged.deal.d2, paged.deal.d5]));
    });

    it("a cursor made from another tenant's deal is only a position: own deals after it, none of theirs", async () => {
      const theirs = await call(h.app, 'get', `/deals/${other.deal.d1}`, other.token.ada).expect(
        200,
      );
      const cursor = encodeKeysetCursor({
        createdAt: new Date(theirs.body.createdAt),
        id: theirs.body.id,
      });
      const res = await call(
        h.app,
        'get',
        `/deals?limit=100&cursor=${cursor}`,
        paged.token.ada,
      ).expect(200);
      const ids = res.body.items.map((d: { id: string }) => d.id);
      for (const id of Object.values(other.deal)) expect(ids).not.toContain(id);
      // `other` was created first, so its deal sits before this tenant's ten own deals and after
      // the 120 bulk deals (dated 2026-01-01): exactly the own ten follow it.
      expect(ids).toEqual(all.slice(120).map((d) => d.id));
    });

    it.each([
      ['limit=0', 'limit must not be less than 1'],
      ['limit=101', 'limit must not be greater than 100'],
      ['limit=ten', 'limit must be an integer number'],
      ['cursor=' + 'x'.repeat(201), 'cursor must be shorter than or equal to 200 characters'],
    ])('GET /deals?%s is 400 naming the parameter', async (query, message) => {
      const res = await call(h.app, 'get', `/deals?${query}`, paged.token.ada).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: expect.arrayContaining([message]),
        error: 'Bad Request',
      });
      const param = query.split('=')[0];
      for (const m of res.body.message) expect(m).toMatch(new RegExp(`^${param} `));
    });

    it.each([
      'not-a-cursor',
      Buffer.from('2026-01-01|not-a-uuid').toString('base64url'),
      ...[
        '0000-01-01T00:00:00.000Z',
        '-000001-01-01T00:00:00.000Z',
        '+010000-01-01T00:00:00.000Z',
      ].map((at) =>
        Buffer.from(`${at}|0d000000-0000-4000-8000-000000000000`).toString('base64url'),
      ),
    ])('GET /deals?cursor=%s (malformed) is 400', async (cursor) => {
      const res = await call(h.app, 'get', `/deals?cursor=${cursor}`, paged.token.ada).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: 'cursor is malformed',
        error: 'Bad Request',
      });
    });
  });

  describe('PATCH /deals/:id', () => {
    it('accepts amounts with two decimals on POST and PATCH and stores them exactly', async () => {
      const created = await call(
        h.app,
        'post',
        '/deals',
        org.token.ada,
        newDeal({ amount: 12.34 }),
      ).expect(201);
      expect(created.body.amount).toBe(12.34);
      const res = await call(h.app, 'patch', `/deals/${created.body.id}`, org.token.ada, {
        amount: 56.78,
      }).expect(200);
      expect(res.body.amount).toBe(56.78);
      expect(
        (await storedDeals(h.owner, org.tenantId)).find((d) => d.id === created.body.id)!.amount,
      ).toBe('56.78');
    });

    it('a rep changes title, amount and stage of their own deal: 200 with the new deal', async () => {
      const before = (await call(h.app, 'get', `/deals/${org.deal.d1}`, org.token.rita).expect(200))
        .body;
      const res = await call(h.app, 'patch', `/deals/${org.deal.d1}`, org.token.rita, {
        title: 'Renamed',
        amount: 99.9,
        stage: 'qualification',
      }).expect(200);
      expect(res.body).toEqual({
        ...before,
        title: 'Renamed',
        amount: 99.9,
        stage: 'qualification',
        updatedAt: expect.stringMatching(ISO),
      });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
      expect((await storedDeals(h.owner, org.tenantId)).find((d) => d.id === org.deal.d1)).toEqual({
        id: org.deal.d1,
        title: 'Renamed',
        amount: '99.90',
        stage: 'qualification',
        owner_id: org.user.rita,
      });
    });

    it('changes only the fields given', async () => {
      const before = (await call(h.app, 'get', `/deals/${org.deal.d5}`, org.token.raj).expect(200))
        .body;
      const res = await call(h.app, 'patch', `/deals/${org.deal.d5}`, org.token.raj, {
        stage: 'lost',
      }).expect(200);
      expect(res.body).toEqual({ ...before, stage: 'lost', updatedAt: expect.stringMatching(ISO) });
    });

    it('a manager changes a deal deep in their subtree; an admin any deal of the tenant', async () => {
      await call(h.app, 'patch', `/deals/${org.deal.d4}`, org.token.mona, { amount: 1 }).expect(
        200,
      );
      await call(h.app, 'patch', `/deals/${org.deal.d9}`, org.token.ada, { amount: 2 }).expect(200);
      const stored = await storedDeals(h.owner, org.tenantId);
      expect(stored.find((d) => d.id === org.deal.d4)!.amount).toBe('1.00');
      expect(stored.find((d) => d.id === org.deal.d9)!.amount).toBe('2.00');
    });

    it('a deal the caller may not see is 404 and unchanged', async () => {
      const before = await storedDeals(h.owner, org.tenantId);
      await call(h.app, 'patch', `/deals/${org.deal.d3}`, org.token.rita, { title: 'x' }).expect(
        404,
      );
      await call(h.app, 'patch', `/deals/${org.deal.d7}`, org.token.max, { title: 'x' }).expect(
        404,
      );
      await call(h.app, 'patch', `/deals/${org.deal.d4}`, org.token.olga, { title: 'x' }).expect(
        404,
      );
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(before);
    });

    it("another tenant's deal is 404 and unchanged, even for an admin", async () => {
      const before = await storedDeals(h.owner, other.tenantId);
      await call(h.app, 'patch', `/deals/${other.deal.d1}`, org.token.ada, { title: 'x' }).expect(
        404,
      );
      expect(await storedDeals(h.owner, other.tenantId)).toEqual(before);
    });
  });

  describe('DELETE /deals/:id', () => {
    it.each(['rosa', 'max'] as const)(
      'as %s (not admin) is 403, even for their own deal',
      async (who) => {
        const own = who === 'rosa' ? org.deal.d4 : org.deal.d6;
        const res = await call(h.app, 'delete', `/deals/${own}`, org.token[who]).expect(403);
        expect(res.body).toEqual({
          statusCode: 403,
          message: 'requires role: admin',
          error: 'Forbidden',
        });
        await call(h.app, 'get', `/deals/${own}`, org.token[who]).expect(200);
      },
    );

    it('as admin is 204, then 404', async () => {
      const res = await call(h.app, 'delete', `/deals/${org.deal.d8}`, org.token.ada).expect(204);
      expect(res.body).toEqual({});
      await call(h.app, 'get', `/deals/${org.deal.d8}`, org.token.ada).expect(404);
      await call(h.app, 'delete', `/deals/${org.deal.d8}`, org.token.ada).expect(404);
      expect((await storedDeals(h.owner, org.tenantId)).map((d) => d.id)).not.toContain(
        org.deal.d8,
      );
    });

    it("of another tenant's deal is 404 and deletes nothing", async () => {
      const before = await storedDeals(h.owner, other.tenantId);
      await call(h.app, 'delete', `/deals/${other.deal.d2}`, org.token.ada).expect(404);
      await call(h.app, 'delete', `/deals/${randomUUID()}`, org.token.ada).expect(404);
      expect(await storedDeals(h.owner, other.tenantId)).toEqual(before);
    });
  });

  describe('the policies hold without the app (app role, settings only)', () => {
    const as = <T>(who: keyof Org['user'], role: string, fn: () => Promise<T>) =>
      inTenant(db, org.tenantId, fn, { userId: org.user[who], role });
    const insert = (owner: string) =>
      db.query(
        `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain)
         VALUES ($1, $2, 'raw', 1, $3, (SELECT chain FROM sales.team_members WHERE user_id = $3))`,
        [org.tenantId, org.accounts.main, owner],
      );

    it('a rep cannot insert a deal for someone else (42501)', async () => {
      await expect(as('rita', 'rep', () => insert(org.user.ravi))).rejects.toMatchObject({
        code: '42501',
      });
    });

    it('a manager cannot insert outside the subtree, nor move a deal out of it (42501)', async () => {
      await expect(as('max', 'manager', () => insert(org.user.rita))).rejects.toMatchObject({
        code: '42501',
      });
      await expect(
        as('max', 'manager', () =>
          db.query(
            `UPDATE sales.deals
                SET owner_id = $1, owner_chain = (SELECT chain FROM sales.team_members WHERE user_id = $1)
              WHERE id = $2`,
            [org.user.oscar, org.deal.d6],
          ),
        ),
      ).rejects.toMatchObject({ code: '42501' });
      // The owner changed without their chain: the policy still sees max's chain, the foreign key
      // that holds owner_chain equal to the owner's refuses it.
      await expect(
        as('max', 'manager', () =>
          db.query(`UPDATE sales.deals SET owner_id = $1 WHERE id = $2`, [
            org.user.oscar,
            org.deal.d6,
          ]),
        ),
      ).rejects.toMatchObject({ code: '23503', constraint: 'deals_owner_chain_fk' });
    });

    it('a rep or manager updates and deletes nothing they may not (0 rows)', async () => {
      const upd = await as('rita', 'rep', () =>
        db.query(`UPDATE sales.deals SET title = 'x' WHERE id = $1`, [org.deal.d3]),
      );
      const delOwn = await as('rosa', 'rep', () =>
        db.query(`DELETE FROM sales.deals WHERE id = $1`, [org.deal.d4]),
      );
      const delTeam = await as('mona', 'manager', () => db.query(`DELETE FROM sales.deals`));
      expect([upd.rowCount, delOwn.rowCount, delTeam.rowCount]).toEqual([0, 0, 0]);
    });

    it('even an admin cannot insert a deal into another tenant, nor read one (42501 / no rows)', async () => {
      await expect(
        as('ada', 'admin', () =>
          db.query(
            `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain)
             VALUES ($1, $2, 'x', 1, $3, ARRAY[$3::uuid])`,
            [other.tenantId, other.accounts.main, other.user.ada],
          ),
        ),
      ).rejects.toMatchObject({ code: '42501' });
      const rows = await as('ada', 'admin', () =>
        db.query(`SELECT id FROM sales.deals WHERE tenant_id = $1`, [other.tenantId]),
      );
      expect(rows.rows).toEqual([]);
    });

    it("a deal cannot point at another tenant's account, by construction (foreign key)", async () => {
      await expect(
        as('ada', 'admin', () =>
          db.query(
            `INSERT INTO sales.deals (tenant_id, account_id, title, amount, owner_id, owner_chain)
             VALUES ($1, $2, 'x', 1, $3, ARRAY[$3::uuid])`,
            [org.tenantId, other.accounts.main, org.user.ada],
          ),
        ),
      ).rejects.toMatchObject({ code: '23503', constraint: 'deals_account_fk' });
    });
  });

  describe('bad input is 400, names the field, and writes nothing', () => {
    let before: Awaited<ReturnType<typeof storedDeals>>;
    beforeAll(async () => {
      before = await storedDeals(h.owner, org.tenantId);
    });
    afterAll(async () => {
      expect(await storedDeals(h.owner, org.tenantId)).toEqual(before);
    });

    it.each([
      ['a missing accountId', { title: 't', amount: 1 }, 'accountId'],
      ['an accountId that is no uuid', { accountId: 'acme', title: 't', amount: 1 }, 'accountId'],
      ['a missing title', { amount: 1 }, 'title'],
      ['an empty title', { title: '', amount: 1 }, 'title'],
      ['a blank title', { title: '   ', amount: 1 }, 'title'],
      ['a missing amount', { title: 't' }, 'amount'],
      ['a negative amount', { title: 't', amount: -0.01 }, 'amount'],
      ['an amount with 3 decimals', { title: 't', amount: 1.005 }, 'amount'],
      ['an amount as a string', { title: 't', amount: '10' }, 'amount'],
      ['an amount over numeric(14,2)', { title: 't', amount: 1e12 }, 'amount'],
      ['an unknown stage', { title: 't', amount: 1, stage: 'closed' }, 'stage'],
      ['an ownerId that is no uuid', { title: 't', amount: 1, ownerId: 'me' }, 'ownerId'],
      ['an id field', { title: 't', amount: 1, id: randomUUID() }, 'id'],
      ['a tenantId field', { title: 't', amount: 1, tenantId: randomUUID() }, 'tenantId'],
      ['a tenant_id field', { title: 't', amount: 1, tenant_id: randomUUID() }, 'tenant_id'],
    ])('POST /deals with %s', async (_case, body, field) => {
      const full = { accountId: org.accounts.main, ...body } as Record<string, unknown>;
      if (field === 'accountId' && !('accountId' in body)) delete full.accountId;
      const res = await call(h.app, 'post', '/deals', org.token.ada, full).expect(400);
      expect(res.body.error).toBe('Bad Request');
      expect(res.body.message.join(' ')).toContain(field);
    });

    it.each([
      ['an empty title', { title: '' }, 'title'],
      ['a blank title', { title: '   ' }, 'title'],
      ['a null title', { title: null }, 'title'],
      ['a negative amount', { amount: -1 }, 'amount'],
      ['a null amount', { amount: null }, 'amount'],
      ['a null stage', { stage: null }, 'stage'],
      ['an unknown stage', { stage: 'done' }, 'stage'],
      ['an ownerId field', { ownerId: randomUUID() }, 'ownerId'],
      ['an accountId field', { accountId: randomUUID() }, 'accountId'],
      ['a tenantId field', { tenantId: randomUUID() }, 'tenantId'],
      ['an id field', { id: randomUUID() }, 'id'],
    ])('PATCH /deals/:id with %s', async (_case, body, field) => {
      const res = await call(h.app, 'patch', `/deals/${org.deal.d10}`, org.token.ada, body).expect(
        400,
      );
      expect(res.body.message.join(' ')).toContain(field);
    });

    it.each([12.345, 0.0000001, 5e-324])(
      'POST and PATCH /deals with amount %s (over 2 decimals) is 400 saying so',
      async (amount) => {
        const expected = {
          statusCode: 400,
          message: ['amount must be a number with at most 2 decimal places'],
          error: 'Bad Request',
        };
        const created = await call(h.app, 'post', '/deals', org.token.ada, {
          accountId: org.accounts.main,
          title: 't',
          amount,
        }).expect(400);
        expect(created.body).toEqual(expected);
        const changed = await call(h.app, 'patch', `/deals/${org.deal.d10}`, org.token.ada, {
          amount,
        }).expect(400);
        expect(changed.body).toEqual(expected);
      },
    );

    it.each(['get', 'patch', 'delete'] as const)(
      '%s /deals/:id with an id that is no uuid',
      async (method) => {
        const res = await call(h.app, method, '/deals/42', org.token.ada, {}).expect(400);
        expect(res.body).toEqual({
          statusCode: 400,
          message: ['id must be a UUID'],
          error: 'Bad Request',
        });
      },
    );

    it('GET /deals with an unknown stage or an unknown query parameter', async () => {
      const stage = await call(h.app, 'get', '/deals?stage=closed', org.token.ada).expect(400);
      expect(stage.body.message.join(' ')).toContain('stage');
      const extra = await call(h.app, 'get', '/deals?tenant_id=x', org.token.ada).expect(400);
      expect(extra.body.message.join(' ')).toContain('tenant_id');
    });
  });
});
