import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { connect, inTenant } from '../support/db';
import {
  as,
  dbRows,
  expectErrorShape,
  ISO_TIMESTAMP,
  startSupportApi,
  storedComments,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

/** Comments on a ticket, for agents and admins, against real PostgreSQL. */
describe('support-api ticket comments', () => {
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let tenant: SupportTenant;
  let ticketId: string;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    tenant = await supportTenant(owner, 'comments');
    ticketId = (await as(app, tenant.agent).post('/tickets', { subject: 'Chatty' })).body.id;
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  it('adds comments by the calling agent and admin, and lists them oldest first', async () => {
    const first = await as(app, tenant.agent).post(`/tickets/${ticketId}/comments`, {
      body: 'Have you tried turning it off and on again?',
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      ticketId,
      authorId: tenant.agentId,
      body: 'Have you tried turning it off and on again?',
      createdAt: expect.stringMatching(ISO_TIMESTAMP),
    });
    const second = await as(app, tenant.admin).post(`/tickets/${ticketId}/comments`, {
      body: 'Escalated.',
    });
    expect(second.status).toBe(201);
    expect(second.body.authorId).toBe(tenant.adminId);

    for (const token of [tenant.agent, tenant.admin]) {
      const list = await as(app, token).get(`/tickets/${ticketId}/comments`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ items: [first.body, second.body], nextCursor: null });
    }
    expect(await storedComments(admin, tenant.id)).toEqual([
      {
        id: first.body.id,
        ticket_id: ticketId,
        author_id: tenant.agentId,
        body: 'Have you tried turning it off and on again?',
      },
      { id: second.body.id, ticket_id: ticketId, author_id: tenant.adminId, body: 'Escalated.' },
    ]);
  });

  it('lists no comments for a ticket without any', async () => {
    const quiet = (await as(app, tenant.agent).post('/tickets', { subject: 'Quiet' })).body.id;
    const res = await as(app, tenant.agent).get(`/tickets/${quiet}/comments`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [], nextCursor: null });
  });

  it('pages the comments oldest first with the cursor, each once, equal times ordered by id', async () => {
    const paged = (await as(app, tenant.agent).post('/tickets', { subject: 'Paged' })).body.id;
    const at = '2025-03-03T09:00:00.000Z';
    await inTenant(owner, tenant.id, () =>
      owner.query(
        `INSERT INTO support.ticket_comments (tenant_id, ticket_id, author_id, body, created_at)
         SELECT $1, $2, $3, 'c' || n, CASE WHEN n <= 3 THEN $4::timestamptz
                                          ELSE $4::timestamptz + n * interval '1 second' END
           FROM generate_series(1, 5) n`,
        [tenant.id, paged, tenant.agentId, at],
      ),
    );
    const expected = (
      await dbRows<{ id: string }>(
        admin,
        `SELECT id FROM support.ticket_comments WHERE ticket_id = $1 ORDER BY created_at, id`,
        [paged],
      )
    ).map((r) => r.id);
    expect(expected).toHaveLength(5);
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/tickets/${paged}/comments?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await as(app, tenant.agent).get(url);
      expect(res.status).toBe(200);
      pages.push(res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual([expected.slice(0, 2), expected.slice(2, 4), expected.slice(4)]);
  });

  it.each([
    ['limit=0', 'limit must not be less than 1'],
    ['limit=101', 'limit must not be greater than 100'],
    ['limit=abc', 'limit must be an integer number'],
    ['cursor=not-a-cursor', 'cursor is malformed'],
  ])('refuses ?%s on the comments with 400 naming the parameter', async (query, message) => {
    const res = await as(app, tenant.agent).get(`/tickets/${ticketId}/comments?${query}`);
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 400);
    expect(JSON.stringify(res.body.message)).toContain(message);
  });

  it('returns 404 for comments on a ticket that does not exist, and writes nothing', async () => {
    const before = await storedComments(admin, tenant.id);
    const post = await as(app, tenant.agent).post(`/tickets/${UNKNOWN_ID}/comments`, {
      body: 'hi',
    });
    expect(post.status).toBe(404);
    expectErrorShape(post.body, 404);
    const get = await as(app, tenant.agent).get(`/tickets/${UNKNOWN_ID}/comments`);
    expect(get.status).toBe(404);
    expectErrorShape(get.body, 404);
    expect(await storedComments(admin, tenant.id)).toEqual(before);
  });

  it.each([
    ['an empty body', { body: '' }, 'body must not be empty'],
    ['a blank body', { body: '   ' }, 'body must not be empty'],
    ['a body over 10,000 characters', { body: 'x'.repeat(10001) }, 'body must be shorter'],
    ['a body that is not a string', { body: 42 }, 'body must be a string'],
    ['no body', {}, 'body must be a string'],
    ['an authorId', { body: 'x', authorId: UNKNOWN_ID }, 'property authorId should not exist'],
    ['a ticketId', { body: 'x', ticketId: UNKNOWN_ID }, 'property ticketId should not exist'],
    ['a tenantId', { body: 'x', tenantId: UNKNOWN_ID }, 'property tenantId should not exist'],
  ])('refuses %s with 400 naming the field, and writes nothing', async (_, body, message) => {
    const before = await storedComments(admin, tenant.id);
    const res = await as(app, tenant.agent).post(`/tickets/${ticketId}/comments`, body);
    expect(res.status).toBe(400);
    expectErrorShape(res.body, 400);
    expect(res.body.message.join('\n')).toContain(message);
    expect(await storedComments(admin, tenant.id)).toEqual(before);
  });

  it('accepts a body of exactly 10,000 characters', async () => {
    const res = await as(app, tenant.agent).post(`/tickets/${ticketId}/comments`, {
      body: 'y'.repeat(10000),
    });
    expect(res.status).toBe(201);
    expect(res.body.body).toHaveLength(10000);
  });
});
