import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { connect, suffix } from '../support/db';
import {
  as,
  expectErrorShape,
  startSupportApi,
  storedArticles,
  storedComments,
  storedTickets,
  SupportTenant,
  supportTenant,
} from './support-api.fixture';

/**
 * Two tenants side by side: everything of tenant A is invisible to tenant B (404 or an empty
 * list, never 403), and B's attempts to change A's rows leave them exactly as they were.
 */
describe('support-api tenant isolation', () => {
  const word = `xylo${suffix()}`;
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let a: SupportTenant;
  let b: SupportTenant;
  let ticketA: { id: string };
  let articleA: { id: string };
  let snapshotA: unknown[];

  const snapshot = async (tenantId: string) => [
    await storedTickets(admin, tenantId),
    await storedComments(admin, tenantId),
    await storedArticles(admin, tenantId),
  ];

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    a = await supportTenant(owner, 'iso-a');
    b = await supportTenant(owner, 'iso-b');
    ticketA = (
      await as(app, a.agent).post('/tickets', { subject: `A secret ${word}`, priority: 'high' })
    ).body;
    await as(app, a.agent).post(`/tickets/${ticketA.id}/comments`, { body: 'A internal note' });
    articleA = (
      await as(app, a.admin).post('/kb/articles', { title: `A playbook ${word}`, body: word })
    ).body;
    snapshotA = await snapshot(a.id);
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  afterEach(async () => {
    expect(await snapshot(a.id)).toEqual(snapshotA);
  });

  it('shows tenant B an empty ticket list, with and without filters', async () => {
    for (const url of ['/tickets', '/tickets?status=open', '/tickets?limit=100']) {
      const res = await as(app, b.agent).get(url);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], nextCursor: null });
    }
  });

  it("answers 404 (never 403) to tenant B's agent and admin for A's ticket", async () => {
    for (const token of [b.agent, b.admin]) {
      const res = await as(app, token).get(`/tickets/${ticketA.id}`);
      expect(res.status).toBe(404);
      expectErrorShape(res.body, 404);
      expect(res.body.message).toBe('ticket not found');
    }
  });

  it("refuses B's edit of A's ticket with 404 and leaves it unchanged", async () => {
    const res = await as(app, b.admin).patch(`/tickets/${ticketA.id}`, {
      subject: 'hijacked',
      status: 'closed',
      assigneeId: b.adminId,
    });
    expect(res.status).toBe(404);
    expectErrorShape(res.body, 404);
  });

  it("refuses B's admin deleting A's ticket with 404 and deletes nothing", async () => {
    const res = await as(app, b.admin).delete(`/tickets/${ticketA.id}`);
    expect(res.status).toBe(404);
    expectErrorShape(res.body, 404);
  });

  it("answers 404 to B for the comments on A's ticket, reading or writing", async () => {
    const list = await as(app, b.agent).get(`/tickets/${ticketA.id}/comments`);
    expect(list.status).toBe(404);
    const post = await as(app, b.agent).post(`/tickets/${ticketA.id}/comments`, {
      body: 'injected',
    });
    expect(post.status).toBe(404);
    expectErrorShape(post.body, 404);
    expect(await storedComments(admin, b.id)).toEqual([]);
  });

  it("gives B no search hit on A's article, and A its own", async () => {
    const forB = await as(app, b.agent).get(`/kb/articles?q=${word}`);
    expect(forB.status).toBe(200);
    expect(forB.body).toEqual({ items: [], nextCursor: null });
    const listB = await as(app, b.agent).get('/kb/articles');
    expect(listB.body.items.map((x: { id: string }) => x.id)).not.toContain(articleA.id);
    const forA = await as(app, a.agent).get(`/kb/articles?q=${word}`);
    expect(forA.body.items.map((x: { id: string }) => x.id)).toEqual([articleA.id]);
  });

  it("refuses B's admin editing or deleting A's article with 404", async () => {
    const patch = await as(app, b.admin).patch(`/kb/articles/${articleA.id}`, { title: 'mine' });
    expect(patch.status).toBe(404);
    expectErrorShape(patch.body, 404);
    const del = await as(app, b.admin).delete(`/kb/articles/${articleA.id}`);
    expect(del.status).toBe(404);
  });

  it('files what B creates under B, invisible to A', async () => {
    const created = await as(app, b.agent).post('/tickets', { subject: 'B ticket' });
    expect(created.status).toBe(201);
    expect((await storedTickets(admin, b.id)).map((t) => t.id)).toEqual([created.body.id]);
    expect((await as(app, a.agent).get(`/tickets/${created.body.id}`)).status).toBe(404);
    const listA = await as(app, a.agent).get('/tickets');
    expect(listA.body.items.map((t: { id: string }) => t.id)).toEqual([ticketA.id]);
  });

  it("does not let B's cursor reveal A's tickets", async () => {
    const cursor = Buffer.from(`2999-01-01T00:00:00.000Z|${ticketA.id}`).toString('base64url');
    const res = await as(app, b.agent).get(`/tickets?cursor=${cursor}`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((t: { subject: string }) => t.subject)).toEqual(['B ticket']);
  });

  it('still shows tenant A all of its own data', async () => {
    const ticket = await as(app, a.agent).get(`/tickets/${ticketA.id}`);
    expect(ticket.status).toBe(200);
    expect(ticket.body).toEqual(ticketA);
    const comments = await as(app, a.agent).get(`/tickets/${ticketA.id}/comments`);
    expect(comments.body.items.map((c: { body: string }) => c.body)).toEqual(['A internal note']);
  });
});
