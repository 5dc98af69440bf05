import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { connect, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import {
  as,
  dbRows,
  expectErrorShape,
  JWT_SECRET,
  startSupportApi,
  storedArticles,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

/** The knowledge base: global and tenant articles, ranked search, admin-only writes. */
describe('support-api knowledge base', () => {
  const word = `zeph${suffix()}`;
  const other = `quor${suffix()}`;
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let tenant: SupportTenant;
  let globalId: string;
  let globalTitleId: string;

  const insertGlobal = async (title: string, body: string): Promise<string> => {
    const id = randomUUID();
    await owner.query(
      `INSERT INTO support.kb_articles (id, tenant_id, title, body) VALUES ($1, NULL, $2, $3)`,
      [id, title, body],
    );
    return id;
  };

  /**
   * Every article of a listing (`q` as given), page after page of `limit`, in the order served (by
   * `server`, the suite's app unless given); a walk of more than 100 pages fails as a loop.
   */
  const walk = async (
    token: string,
    q: string,
    limit: number,
    server: INestApplication = app,
  ): Promise<{ id: string; scope: string }[]> => {
    const seen: { id: string; scope: string }[] = [];
    let cursor: string | null = null;
    for (let pages = 1; ; pages++) {
      expect(pages).toBeLessThanOrEqual(100);
      const url: string = `/kb/articles?limit=${limit}&q=${q}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await as(server, token).get(url);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (!cursor) return seen;
    }
  };

  /** Seven articles of the tenant matching `term` with ties on rank and on time; their ids in order. */
  const rankedArticles = async (term: string): Promise<string[]> => {
    const at = '2025-04-04T08:00:00.000Z';
    await inTenant(owner, tenant.id, () =>
      owner.query(
        `INSERT INTO support.kb_articles (tenant_id, title, body, created_at)
         SELECT $1, CASE WHEN n % 2 = 0 THEN $2 || ' guide' ELSE 'Guide ' || n END,
                repeat($2 || ' ', n % 3 + 1), $3::timestamptz + (n % 2) * interval '1 minute'
           FROM generate_series(1, 7) n`,
        [tenant.id, term, at],
      ),
    );
    const expected = await dbRows<{ id: string }>(
      admin,
      `SELECT id FROM support.kb_articles
        WHERE tenant_id = $1 AND search @@ websearch_to_tsquery('english', $2)
        ORDER BY ts_rank(search, websearch_to_tsquery('english', $2)) DESC, created_at DESC, id DESC`,
      [tenant.id, term],
    );
    expect(expected).toHaveLength(7);
    return expected.map((r) => r.id);
  };

  /** The parts of a search cursor: `[terms tag, rank, keyset position]`. */
  const cursorParts = (cursor: string): string[] =>
    Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const cursorOf = (parts: string[]): string => Buffer.from(parts.join('|')).toString('base64url');

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    tenant = await supportTenant(owner, 'kb');
    globalId = await insertGlobal('Shared guide', `Mentions ${word} once in the body.`);
    globalTitleId = await insertGlobal(`${other} handbook`, `All about ${other}.`);
  });
  afterAll(async () => {
    const removed = await admin.query(`DELETE FROM support.kb_articles WHERE id IN ($1, $2)`, [
      globalId,
      globalTitleId,
    ]);
    expect(removed.rowCount).toBe(2);
    await app.close();
    await owner.end();
    await admin.end();
  });

  describe('GET /kb/articles', () => {
    it('lists the global articles and the tenant own ones, newest first, with their scope', async () => {
      const mine = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Tenant only',
        body: 'For our agents.',
      });
      expect(mine.status).toBe(201);
      const expected = await dbRows<{ id: string; tenant_id: string | null }>(
        admin,
        `SELECT id, tenant_id FROM support.kb_articles
          WHERE tenant_id IS NULL OR tenant_id = $1 ORDER BY created_at DESC, id DESC`,
        [tenant.id],
      );
      for (const token of [tenant.agent, tenant.admin]) {
        const items = await walk(token, '', 2);
        expect(items.map((a) => [a.id, a.scope])).toEqual(
          expected.map((r) => [r.id, r.tenant_id === null ? 'global' : 'tenant']),
        );
      }
      const shared = (await as(app, tenant.agent).get('/kb/articles')).body.items.find(
        (a: { id: string }) => a.id === globalId,
      );
      expect(Object.keys(shared).sort()).toEqual(
        ['body', 'createdAt', 'id', 'scope', 'title', 'updatedAt'].sort(),
      );
    });

    it('ranks matches by relevance: a title hit before a body hit, global and own alike', async () => {
      const titled = await as(app, tenant.admin).post('/kb/articles', {
        title: `${word} troubleshooting`,
        body: `Step one: find the ${word}.`,
      });
      const res = await as(app, tenant.agent).get(`/kb/articles?q=${word}`);
      expect(res.status).toBe(200);
      expect(res.body.items.map((a: { id: string; scope: string }) => [a.id, a.scope])).toEqual([
        [titled.body.id, 'tenant'],
        [globalId, 'global'],
      ]);
    });

    it('ranks a global title hit above a tenant body hit', async () => {
      const bodyOnly = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Misc',
        body: `One mention of ${other}.`,
      });
      const res = await as(app, tenant.agent).get(`/kb/articles?q=${other}`);
      expect(res.body.items.map((a: { id: string }) => a.id)).toEqual([
        globalTitleId,
        bodyOnly.body.id,
      ]);
    });

    it('returns an empty list when nothing matches', async () => {
      const res = await as(app, tenant.agent).get(`/kb/articles?q=nomatch${suffix()}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], nextCursor: null });
    });

    it('treats an empty q as no search', async () => {
      const all = await as(app, tenant.agent).get('/kb/articles');
      const empty = await as(app, tenant.agent).get('/kb/articles?q=');
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual(all.body);
    });

    it('pages a search by rank, ties newest first then by id, each match once', async () => {
      const term = `pag${suffix()}`;
      const expected = await rankedArticles(term);
      const whole = await as(app, tenant.agent).get(`/kb/articles?q=${term}`);
      expect(whole.body.items.map((a: { id: string }) => a.id)).toEqual(expected);
      expect(whole.body.nextCursor).toBeNull();
      for (const limit of [1, 2, 3]) {
        expect((await walk(tenant.agent, term, limit)).map((a) => a.id)).toEqual(expected);
      }
      const trimmed = await as(app, tenant.agent).get(`/kb/articles?q=${term}&limit=2`);
      const spaced = await as(app, tenant.agent).get(
        `/kb/articles?q=%20${term}%20&limit=2&cursor=${trimmed.body.nextCursor}`,
      );
      expect(spaced.status).toBe(200);
      expect(spaced.body.items.map((a: { id: string }) => a.id)).toEqual(expected.slice(2, 4));
    });

    it.each([0, -15])(
      'pages a search exactly when the session prints floats with extra_float_digits = %i',
      async (digits) => {
        const url = new URL(testUrl('appUrl'));
        url.searchParams.set('options', `-c extra_float_digits=${digits}`);
        const session = new Client({ connectionString: url.toString() });
        await session.connect();
        const shown = await session.query(
          `SELECT current_setting('extra_float_digits') AS digits,
                  CAST(CAST(1 AS real) / CAST(3 AS real) AS text) AS third`,
        );
        await session.end();
        expect(shown.rows).toEqual([
          { digits: String(digits), third: digits === 0 ? '0.333333' : '0.3' },
        ]);
        const coarse = await createSupportApp({
          databaseUrl: url.toString(),
          jwtSecret: JWT_SECRET,
          logger: false,
        });
        try {
          const term = `efd${suffix()}`;
          const expected = await rankedArticles(term);
          for (const limit of [1, 2, 3]) {
            const served = await walk(tenant.agent, term, limit, coarse);
            expect(served.map((a) => a.id)).toEqual(expected);
          }
        } finally {
          await coarse.close();
        }
      },
    );

    it('refuses a search cursor with other terms with 400, and one whose rank is no real', async () => {
      const search = await as(app, tenant.agent).get(`/kb/articles?q=${word}&limit=1`);
      expect(search.body.nextCursor).toEqual(expect.any(String));
      const other = await as(app, tenant.agent).get(
        `/kb/articles?q=${word}%20guide&limit=1&cursor=${search.body.nextCursor}`,
      );
      expect(other.status).toBe(400);
      expectErrorShape(other.body, 400);
      expect(other.body.message).toBe('cursor belongs to a search for other terms');
      const [tag, , position] = cursorParts(search.body.nextCursor);
      for (const rank of [
        '1e+400',
        '1e-400',
        `1${'0'.repeat(40)}`,
        `0.${'0'.repeat(50)}1`,
        '-1',
        '',
      ]) {
        const res = await as(app, tenant.agent).get(
          `/kb/articles?q=${word}&limit=1&cursor=${cursorOf([tag, rank, position])}`,
        );
        expect([rank, res.status, res.body.message]).toEqual([rank, 400, 'cursor is malformed']);
      }
    });

    it('refuses a listing cursor in a search and a search cursor in a listing with 400', async () => {
      const listing = await as(app, tenant.agent).get('/kb/articles?limit=1');
      expect(listing.body.nextCursor).toEqual(expect.any(String));
      const search = await as(app, tenant.agent).get(`/kb/articles?q=${word}&limit=1`);
      expect(search.body.nextCursor).toEqual(expect.any(String));
      for (const url of [
        `/kb/articles?q=${word}&cursor=${listing.body.nextCursor}`,
        `/kb/articles?cursor=${search.body.nextCursor}`,
        `/kb/articles?q=${word}&cursor=${cursorOf(['t', '-1', listing.body.nextCursor])}`,
        `/kb/articles?q=${word}&cursor=${cursorOf(['t', '0.5', 'x', 'y'])}`,
        `/kb/articles?q=${word}&cursor=${cursorOf(['t', '0.5', 'x'])}`,
        `/kb/articles?q=${word}&cursor=${search.body.nextCursor}=`,
      ]) {
        const res = await as(app, tenant.agent).get(url);
        expect(res.status).toBe(400);
        expectErrorShape(res.body, 400);
        expect(res.body.message).toBe('cursor is malformed');
      }
    });

    it('refuses q over 200 characters with 400 naming q', async () => {
      const res = await as(app, tenant.agent).get(`/kb/articles?q=${'a'.repeat(201)}`);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(res.body.message).toEqual(['q must be shorter than or equal to 200 characters']);
    });
  });

  describe('POST /kb/articles', () => {
    it('lets an admin write a tenant article', async () => {
      const res = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Escalation policy',
        body: 'Page the on-call after 15 minutes.',
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        title: 'Escalation policy',
        body: 'Page the on-call after 15 minutes.',
        scope: 'tenant',
        createdAt: expect.any(String),
        updatedAt: res.body.createdAt,
      });
      expect(
        await dbRows(admin, `SELECT tenant_id, title FROM support.kb_articles WHERE id = $1`, [
          res.body.id,
        ]),
      ).toEqual([{ tenant_id: tenant.id, title: 'Escalation policy' }]);
    });

    it('refuses an agent with 403 and writes nothing', async () => {
      const before = await storedArticles(admin, tenant.id);
      const res = await as(app, tenant.agent).post('/kb/articles', { title: 'Nope', body: 'No.' });
      expect(res.status).toBe(403);
      expectErrorShape(res.body, 403);
      expect(await storedArticles(admin, tenant.id)).toEqual(before);
    });

    it.each([
      ['a tenantId (even null, to make it global)', { tenantId: null }, 'tenantId'],
      ['a tenant_id', { tenant_id: null }, 'tenant_id'],
      ['a scope', { scope: 'global' }, 'scope'],
      ['an id', { id: UNKNOWN_ID }, 'id'],
    ])('refuses %s with 400 and writes nothing', async (_, extra, field) => {
      const before = [await storedArticles(admin, tenant.id), await storedArticles(admin, null)];
      const res = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Smuggled',
        body: 'Smuggled.',
        ...extra,
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([`${field}: property ${field} should not exist`]);
      expect([await storedArticles(admin, tenant.id), await storedArticles(admin, null)]).toEqual(
        before,
      );
    });

    it.each([
      ['an empty title', { title: '', body: 'b' }, 'title must not be empty'],
      ['a title over 200', { title: 't'.repeat(201), body: 'b' }, 'title must be shorter'],
      ['a body over 10,000', { title: 't', body: 'b'.repeat(10001) }, 'body must be shorter'],
      ['a numeric title', { title: 7, body: 'b' }, 'title must be a string'],
      ['no body', { title: 't' }, 'body must be a string'],
    ])('refuses %s with 400 naming the field', async (_, body, message) => {
      const before = await storedArticles(admin, tenant.id);
      const res = await as(app, tenant.admin).post('/kb/articles', body);
      expect(res.status).toBe(400);
      expect(res.body.message.join('\n')).toContain(message);
      expect(await storedArticles(admin, tenant.id)).toEqual(before);
    });
  });

  describe('PATCH and DELETE /kb/articles/:id', () => {
    it('lets an admin edit its tenant article, and the search follows the new text', async () => {
      const fresh = `nova${suffix()}`;
      const created = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Draft',
        body: 'To be written.',
      });
      const res = await as(app, tenant.admin).patch(`/kb/articles/${created.body.id}`, {
        title: `${fresh} guide`,
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...created.body,
        title: `${fresh} guide`,
        updatedAt: expect.any(String),
      });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
      const found = await as(app, tenant.agent).get(`/kb/articles?q=${fresh}`);
      expect(found.body.items.map((a: { id: string }) => a.id)).toEqual([created.body.id]);
    });

    it('lets an admin delete its tenant article (204, then gone)', async () => {
      const created = await as(app, tenant.admin).post('/kb/articles', { title: 'Old', body: 'x' });
      const res = await as(app, tenant.admin).delete(`/kb/articles/${created.body.id}`);
      expect(res.status).toBe(204);
      expect(
        await dbRows(admin, `SELECT id FROM support.kb_articles WHERE id = $1`, [created.body.id]),
      ).toEqual([]);
      const again = await as(app, tenant.admin).delete(`/kb/articles/${created.body.id}`);
      expect(again.status).toBe(404);
    });

    it('refuses to edit or delete a global article with 403, and leaves it as it was', async () => {
      const before = await storedArticles(admin, null);
      const patch = await as(app, tenant.admin).patch(`/kb/articles/${globalId}`, {
        title: 'Defaced',
      });
      expect(patch.status).toBe(403);
      expectErrorShape(patch.body, 403);
      expect(patch.body.message).toBe('global articles are read-only');
      const del = await as(app, tenant.admin).delete(`/kb/articles/${globalId}`);
      expect(del.status).toBe(403);
      expect(await storedArticles(admin, null)).toEqual(before);
    });

    it('refuses agents with 403 on edit and delete, and changes nothing', async () => {
      const created = await as(app, tenant.admin).post('/kb/articles', {
        title: 'Mine',
        body: 'x',
      });
      const before = await storedArticles(admin, tenant.id);
      const patch = await as(app, tenant.agent).patch(`/kb/articles/${created.body.id}`, {
        title: 'Agent edit',
      });
      const del = await as(app, tenant.agent).delete(`/kb/articles/${created.body.id}`);
      expect([patch.status, del.status]).toEqual([403, 403]);
      expect(await storedArticles(admin, tenant.id)).toEqual(before);
    });

    it('returns 404 for an article that does not exist', async () => {
      const id = UNKNOWN_ID;
      const patch = await as(app, tenant.admin).patch(`/kb/articles/${id}`, { title: 'x' });
      const del = await as(app, tenant.admin).delete(`/kb/articles/${id}`);
      expect([patch.status, del.status]).toEqual([404, 404]);
      expectErrorShape(patch.body, 404);
    });

    it('refuses unknown fields on edit (scope, tenantId) with 400', async () => {
      const created = await as(app, tenant.admin).post('/kb/articles', { title: 'Fix', body: 'x' });
      const before = await storedArticles(admin, tenant.id);
      for (const extra of [{ scope: 'global' }, { tenantId: null }]) {
        const res = await as(app, tenant.admin).patch(`/kb/articles/${created.body.id}`, extra);
        expect(res.status).toBe(400);
      }
      expect(await storedArticles(admin, tenant.id)).toEqual(before);
    });
  });

  it('keeps global rows out of reach of the application role even without the API check', async () => {
    const appDb = await connect('app');
    try {
      await expect(
        inTenant(appDb, tenant.id, () =>
          appDb.query(`UPDATE support.kb_articles SET title = 'x' WHERE id = $1`, [globalId]),
        ),
      ).resolves.toMatchObject({ rowCount: 0 });
    } finally {
      await appDb.end();
    }
  });
});
