import { randomUUID } from 'node:crypto';
import {
  BAD_NAME_PAGE_QUERIES,
  call,
  createOrg,
  Org,
  SalesHarness,
  salesSetup,
  walkPages,
} from './support/sales-harness';

/** PUT and GET /team/members: who may change the tree, what a bad request gets, tenant isolation. */
describe('sales-api: team members', () => {
  let h: SalesHarness;
  let org: Org;
  let other: Org;

  beforeAll(async () => {
    h = await salesSetup();
    org = await createOrg(h, 'team');
    other = await createOrg(h, 'team-other');
  });

  afterAll(async () => {
    await h.close();
  });

  const members = async (o: Org) =>
    (await call(h.app, 'get', '/team/members', o.token.ada).expect(200)).body.items as {
      userId: string;
      name: string;
      managerId: string | null;
    }[];

  it('GET /team/members lists the whole tenant tree, by name, to every role', async () => {
    const expected = [
      ['ada', null],
      ['max', 'mona'],
      ['mona', 'ada'],
      ['olga', 'ada'],
      ['oscar', 'olga'],
      ['raj', 'max'],
      ['ravi', 'mona'],
      ['rita', 'mona'],
      ['rosa', 'max'],
    ].map(([name, manager]) => ({
      userId: org.user[name as keyof Org['user']],
      name,
      managerId: manager ? org.user[manager as keyof Org['user']] : null,
    }));
    for (const who of ['ada', 'mona', 'rita'] as const) {
      const res = await call(h.app, 'get', '/team/members', org.token[who]).expect(200);
      expect(res.body).toEqual({ items: expected, nextCursor: null });
    }
  });

  it('GET /team/members pages by name, then user id, each member once', async () => {
    const paged = await createOrg(h, 'team-pages');
    for (const name of ['sam', 'sam', 'Sam', 'a|b']) {
      await call(h.app, 'put', `/team/members/${randomUUID()}`, paged.token.ada, {
        name,
        managerId: paged.user.ada,
      }).expect(200);
    }
    const whole = await call(h.app, 'get', '/team/members', paged.token.rita).expect(200);
    expect(whole.body.items).toHaveLength(13);
    expect(whole.body.nextCursor).toBeNull();
    const sams = whole.body.items.filter((m: { name: string }) => m.name === 'sam');
    expect(sams.map((m: { userId: string }) => m.userId)).toEqual(
      sams.map((m: { userId: string }) => m.userId).sort(),
    );
    for (const limit of [1, 4]) {
      const pages = await walkPages(h.app, `/team/members?limit=${limit}`, paged.token.rita);
      expect(pages.every((p) => p.length <= limit)).toBe(true);
      expect(pages.flat()).toEqual(whole.body.items);
    }
  });

  it.each(BAD_NAME_PAGE_QUERIES)(
    'GET /team/members?%s is 400 naming the parameter',
    async (query, message) => {
      const res = await call(h.app, 'get', `/team/members?${query}`, org.token.rita).expect(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
    },
  );

  it('PUT creates a member and returns exactly {userId, name, managerId}', async () => {
    const id = randomUUID();
    const res = await call(h.app, 'put', `/team/members/${id}`, org.token.ada, {
      name: 'Nina New',
      managerId: org.user.max,
    }).expect(200);
    expect(res.body).toEqual({ userId: id, name: 'Nina New', managerId: org.user.max });
    expect(await members(org)).toContainEqual({
      userId: id,
      name: 'Nina New',
      managerId: org.user.max,
    });
  });

  it('PUT replaces name and manager of an existing member, and may put them at the top', async () => {
    const id = randomUUID();
    await call(h.app, 'put', `/team/members/${id}`, org.token.ada, {
      name: 'Tom',
      managerId: org.user.olga,
    }).expect(200);
    const res = await call(h.app, 'put', `/team/members/${id}`, org.token.ada, {
      name: 'Tom Top',
      managerId: null,
    }).expect(200);
    expect(res.body).toEqual({ userId: id, name: 'Tom Top', managerId: null });
    expect((await members(org)).filter((m) => m.userId === id)).toEqual([
      { userId: id, name: 'Tom Top', managerId: null },
    ]);
  });

  it.each(['mona', 'rita'] as const)(
    'PUT as %s (not admin) is 403 and writes nothing',
    async (who) => {
      const before = await members(org);
      const res = await call(h.app, 'put', `/team/members/${org.user.raj}`, org.token[who], {
        name: 'raj',
        managerId: org.user[who],
      }).expect(403);
      expect(res.body).toEqual({
        statusCode: 403,
        message: 'requires role: admin',
        error: 'Forbidden',
      });
      await call(h.app, 'put', `/team/members/${randomUUID()}`, org.token[who], {
        name: 'x',
        managerId: null,
      }).expect(403);
      expect(await members(org)).toEqual(before);
    },
  );

  it('PUT with a managerId that is no member of the tenant is 404 and writes nothing', async () => {
    const before = await members(org);
    const id = randomUUID();
    const res = await call(h.app, 'put', `/team/members/${id}`, org.token.ada, {
      name: 'Orphan',
      managerId: randomUUID(),
    }).expect(404);
    expect(res.body.message).toMatch(/^managerId: team member .* not found$/);
    await call(h.app, 'put', `/team/members/${org.user.rita}`, org.token.ada, {
      name: 'rita',
      managerId: other.user.mona,
    }).expect(404);
    expect(await members(org)).toEqual(before);
  });

  it('PUT making a new member their own manager is 409', async () => {
    const id = randomUUID();
    const res = await call(h.app, 'put', `/team/members/${id}`, org.token.ada, {
      name: 'Loop',
      managerId: id,
    }).expect(409);
    expect(res.body.error).toBe('Conflict');
    expect((await members(org)).map((m) => m.userId)).not.toContain(id);
  });

  it("PUT with another tenant's user id creates a separate member here and never changes theirs", async () => {
    const before = await members(other);
    const res = await call(h.app, 'put', `/team/members/${other.user.mona}`, org.token.ada, {
      name: 'Same id, other tenant',
      managerId: org.user.olga,
    }).expect(200);
    expect(res.body).toEqual({
      userId: other.user.mona,
      name: 'Same id, other tenant',
      managerId: org.user.olga,
    });
    expect(await members(other)).toEqual(before);
    expect((await members(other)).map((m) => m.userId)).not.toContain(org.user.olga);
  });

  describe('bad input is 400, names the field, and writes nothing', () => {
    let before: Awaited<ReturnType<typeof members>>;
    beforeAll(async () => {
      before = await members(org);
    });
    afterAll(async () => {
      expect(await members(org)).toEqual(before);
    });

    it.each([
      ['a missing name', { managerId: null }, 'name'],
      ['an empty name', { name: '', managerId: null }, 'name'],
      ['a blank name', { name: '   ', managerId: null }, 'name'],
      ['a name over 200 characters', { name: 'x'.repeat(201), managerId: null }, 'name'],
      ['a missing managerId', { name: 'x' }, 'managerId'],
      ['a managerId that is no uuid', { name: 'x', managerId: 'boss' }, 'managerId'],
      ['a tenantId field', { name: 'x', managerId: null, tenantId: randomUUID() }, 'tenantId'],
      ['a tenant_id field', { name: 'x', managerId: null, tenant_id: randomUUID() }, 'tenant_id'],
      ['a userId field', { name: 'x', managerId: null, userId: randomUUID() }, 'userId'],
    ])('%s', async (_case, body, field) => {
      const res = await call(
        h.app,
        'put',
        `/team/members/${randomUUID()}`,
        org.token.ada,
        body,
      ).expect(400);
      expect(res.body.error).toBe('Bad Request');
      expect(res.body.message.join(' ')).toContain(field);
    });

    it('a :userId that is no uuid', async () => {
      const res = await call(h.app, 'put', '/team/members/not-a-uuid', org.token.ada, {
        name: 'x',
        managerId: null,
      }).expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        message: ['userId must be a UUID'],
        error: 'Bad Request',
      });
    });
  });
});
