import { randomUUID } from 'node:crypto';
import { connect, inTenant } from '../support/db';
import {
  BAD_NAME_PAGE_QUERIES,
  call,
  createOrg,
  Org,
  SalesHarness,
  salesSetup,
  storedDeals,
  tokenFor,
  walkPages,
} from './support/sales-harness';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Accounts: every role reads and creates, only admins delete, nothing crosses tenants. */
describe('sales-api: accounts', () => {
  let h: SalesHarness;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    h = await salesSetup();
    org = await createOrg(h, 'acct');
    other = await createOrg(h, 'acct-other');
  });

  afterAll(async () => {
    await h.close();
  });

  const storedAccounts = async (o: Org) =>
    (
      await inTenant(
        h.owner,
        o.tenantId,
        () => h.owner.query(`SELECT id, name, domain FROM sales.accounts ORDER BY id`),
        { userId: o.user.ada, role: 'admin' },
      )
    ).rows;

  it.each(['rita', 'max', 'ada'] as const)(
    'POST /accounts as %s is 201 {id, name, domain, createdAt}',
    async (who) => {
      const res = await call(h.app, 'post', '/accounts', org.token[who], {
        name: `By ${who}`,
        domain: `${who}.example`,
      }).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        name: `By ${who}`,
        domain: `${who}.example`,
        createdAt: expect.stringMatching(ISO),
      });
      expect(await storedAccounts(org)).toContainEqual({
        id: res.body.id,
        name: `By ${who}`,
        domain: `${who}.example`,
      });
      expect((await storedAccounts(other)).map((a) => a.id)).not.toContain(res.body.id);
    },
  );

  it('POST /accounts without a domain stores and returns domain null', async () => {
    const res = await call(h.app, 'post', '/accounts', org.token.rita, {
      name: 'No domain',
    }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'No domain',
      domain: null,
      createdAt: expect.stringMatching(ISO),
    });
  });

  it('GET /accounts lists every account of the tenant to every role, and nothing else', async () => {
    const stored = (await storedAccounts(org)).map((a) => a.id).sort();
    for (const who of ['rita', 'oscar', 'mona', 'ada'] as const) {
      const res = await call(h.app, 'get', '/accounts', org.token[who]).expect(200);
      expect(Object.keys(res.body)).toEqual(['items', 'nextCursor']);
      expect(res.body.nextCursor).toBeNull();
      expect(res.body.items.map((a: { id: string }) => a.id).sort()).toEqual(stored);
    }
    const names = (
      await call(h.app, 'get', '/accounts', other.token.ada).expect(200)
    ).body.items.map((a: { name: string }) => a.name);
    expect(names).toEqual(['acct-other main', 'acct-other other']);
  });

  it('GET /accounts pages by name, then id: equal names, a | in a name, each account once', async () => {
    const paged = await createOrg(h, 'acct-pages');
    const names = ['Zeta', 'alpha', 'Alpha', 'a|b', 'a|b', 'Ünïcødé 日本 🚀', 'beta', 'a'];
    await inTenant(
      h.owner,
      paged.tenantId,
      () =>
        h.owner.query(
          `INSERT INTO sales.accounts (tenant_id, name) SELECT $1, unnest($2::text[])`,
          [paged.tenantId, names],
        ),
      { userId: paged.user.ada, role: 'admin' },
    );
    const expected = (
      await inTenant(
        h.owner,
        paged.tenantId,
        () => h.owner.query(`SELECT id, name FROM sales.accounts ORDER BY name, id`),
        { userId: paged.user.ada, role: 'admin' },
      )
    ).rows as { id: string; name: string }[];
    expect(expected).toHaveLength(names.length + 2); // and the two createOrg makes
    const whole = await call(h.app, 'get', '/accounts', paged.token.rita).expect(200);
    expect(whole.body.items.map((a: { id: string }) => a.id)).toEqual(expected.map((a) => a.id));
    for (const limit of [1, 3]) {
      const pages = await walkPages<{ id: string; name: string }>(
        h.app,
        `/accounts?limit=${limit}`,
        paged.token.rita,
      );
      expect(pages.every((p) => p.length <= limit)).toBe(true);
      expect(pages.flat().map((a) => [a.id, a.name])).toEqual(expected.map((a) => [a.id, a.name]));
    }
  });

  it.each(BAD_NAME_PAGE_QUERIES)(
    'GET /accounts?%s is 400 naming the parameter',
    async (query, message) => {
      const res = await call(h.app, 'get', `/accounts?${query}`, org.token.rita).expect(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
    },
  );

  it('GET /accounts/:id is 200 with the account for every role', async () => {
    for (const who of ['oscar', 'olga', 'ada'] as const) {
      const res = await call(h.app, 'get', `/accounts/${org.accounts.main}`, org.token[who]).expect(
        200,
      );
      expect(res.body).toEqual({
        id: org.accounts.main,
        name: 'acct main',
        domain: null,
        createdAt: expect.stringMatching(ISO),
      });
    }
  });

  it("GET /accounts/:id is 404 for another tenant's account and for an unknown id", async () => {
    const res = await call(h.app, 'get', `/accounts/${other.accounts.main}`, org.token.ada).expect(
      404,
    );
    expect(res.body).toEqual({
      statusCode: 404,
      message: `account ${other.accounts.main} not found`,
      error: 'Not Found',
    });
    await call(h.app, 'get', `/accounts/${randomUUID()}`, org.token.ada).expect(404);
  });

  it.each(['rita', 'mona'] as const)(
    'DELETE /accounts/:id as %s is 403 and deletes nothing',
    async (who) => {
      const before = await storedAccounts(org);
      const res = await call(
        h.app,
        'delete',
        `/accounts/${org.accounts.other}`,
        org.token[who],
      ).expect(403);
      expect(res.body).toEqual({
        statusCode: 403,
        message: 'requires role: admin',
        error: 'Forbidden',
      });
      expect(await storedAccounts(org)).toEqual(before);
    },
  );

  it("DELETE /accounts/:id of another tenant's account is 404 and changes nothing there", async () => {
    const before = await storedAccounts(other);
    const deals = await storedDeals(h.owner, other.tenantId);
    await call(h.app, 'delete', `/accounts/${other.accounts.other}`, org.token.ada).expect(404);
    await call(h.app, 'delete', `/accounts/${randomUUID()}`, org.token.ada).expect(404);
    expect(await storedAccounts(other)).toEqual(before);
    expect(await storedDeals(h.owner, other.tenantId)).toEqual(deals);
  });

  it('DELETE /accounts/:id as admin is 204 and deletes the account with its deals (only those)', async () => {
    const deals = await storedDeals(h.owner, org.tenantId);
    expect(deals.map((d) => d.id)).toContain(org.deal.d3);
    const res = await call(
      h.app,
      'delete',
      `/accounts/${org.accounts.other}`,
      org.token.ada,
    ).expect(204);
    expect(res.body).toEqual({});
    await call(h.app, 'get', `/accounts/${org.accounts.other}`, org.token.ada).expect(404);
    await call(h.app, 'get', `/deals/${org.deal.d3}`, org.token.ada).expect(404);
    expect(await storedDeals(h.owner, org.tenantId)).toEqual(
      deals.filter((d) => d.id !== org.deal.d3),
    );
    await call(h.app, 'delete', `/accounts/${org.accounts.other}`, org.token.ada).expect(404);
  });

  it('the database refuses account deletes to non-admins even without the app (0 rows)', async () => {
    const app = await connect('app');
    try {
      const deleted = await inTenant(
        app,
        org.tenantId,
        () => app.query(`DELETE FROM sales.accounts WHERE id = $1`, [org.accounts.main]),
        { userId: org.user.mona, role: 'manager' },
      );
      expect(deleted.rowCount).toBe(0);
      const renamed = await inTenant(
        app,
        org.tenantId,
        () =>
          app.query(`UPDATE sales.accounts SET name = 'hijacked' WHERE id = $1`, [
            org.accounts.main,
          ]),
        { userId: org.user.rita, role: 'rep' },
      );
      expect(renamed.rowCount).toBe(0);
    } finally {
      await app.end();
    }
    await call(h.app, 'get', `/accounts/${org.accounts.main}`, org.token.rita).expect(200);
  });

  describe('bad input is 400, names the field, and writes nothing', () => {
    let before: Awaited<ReturnType<typeof storedAccounts>>;
    beforeAll(async () => {
      before = await storedAccounts(org);
    });
    afterAll(async () => {
      expect(await storedAccounts(org)).toEqual(before);
    });

    it.each([
      ['a missing name', {}, 'name'],
      ['an empty name', { name: '' }, 'name'],
      ['a blank name', { name: '   ' }, 'name'],
      ['a name that is no string', { name: 42 }, 'name'],
      ['a name over 200 characters', { name: 'x'.repeat(201) }, 'name'],
      ['a domain that is no domain', { name: 'x', domain: 'not a domain' }, 'domain'],
      ['an id field', { name: 'x', id: randomUUID() }, 'id'],
      ['a tenantId field', { name: 'x', tenantId: randomUUID() }, 'tenantId'],
      ['a tenant_id field', { name: 'x', tenant_id: randomUUID() }, 'tenant_id'],
      ['a createdAt field', { name: 'x', createdAt: '2020-01-01T00:00:00Z' }, 'createdAt'],
    ])('POST /accounts with %s', async (_case, body, field) => {
      const res = await call(h.app, 'post', '/accounts', org.token.ada, body).expect(400);
      expect(res.body.error).toBe('Bad Request');
      expect(res.body.message.join(' ')).toContain(field);
    });

    it.each(['get', 'delete'] as const)(
      '%s /accounts/:id with an id that is no uuid',
      async (method) => {
        const res = await call(h.app, method, '/accounts/123', org.token.ada).expect(400);
        expect(res.body).toEqual({
          statusCode: 400,
          message: ['id must be a UUID'],
          error: 'Bad Request',
        });
      },
    );
  });

  it('a rep who is not yet a team member still reads and creates accounts', async () => {
    const token = tokenFor(org.tenantId, randomUUID(), 'rep');
    await call(h.app, 'post', '/accounts', token, { name: 'From a newcomer' }).expect(201);
    await call(h.app, 'get', `/accounts/${org.accounts.main}`, token).expect(200);
  });
});
