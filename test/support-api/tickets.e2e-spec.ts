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
  storedTickets,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The ticket routes for agents and admins, against real PostgreSQL. */
describe('support-api tickets', () => {
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let tenant: SupportTenant;

  const insertTickets = async (
    tenantId: string,
    rows: { subject: string; status?: string; createdAt: string }[],
  ) => {
    await inTenant(owner, tenantId, async () => {
      for (const r of rows) {
        await owner.query(
          `INSERT INTO support.tickets (tenant_id, subject, status, requester_id, created_at, updated_at)
           VALUES ($1, $2, $3, gen_random_uuid(), $4, $4)`,
          [tenantId, r.subject, r.status ?? 'open', r.createdAt],
        );
      }
    });
  };

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    tenant = await supportTenant(owner, 'tickets');
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  describe('POST /tickets', () => {
    it('creates an open, normal-priority ticket requested by the calling agent', async () => {
      const res = await as(app, tenant.agent).post('/tickets', { subject: 'Printer on fire' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(UUID),
        subject: 'Printer on fire',
        description: null,
        status: 'open',
        priority: 'normal',
        requesterId: tenant.agentId,
        assigneeId: null,
        createdAt: expect.stringMatching(ISO_TIMESTAMP),
        updatedAt: res.body.createdAt,
      });
      expect(
        await dbRows(
          admin,
          `SELECT tenant_id, subject, status, priority, requester_id FROM support.tickets WHERE id = $1`,
          [res.body.id],
        ),
      ).toEqual([
        {
          tenant_id: tenant.id,
          subject: 'Printer on fire',
          status: 'open',
          priority: 'normal',
          requester_id: tenant.agentId,
        },
      ]);
    });

    it('takes a description and a priority, for an admin too', async () => {
      const res = await as(app, tenant.admin).post('/tickets', {
        subject: 'VPN down',
        description: 'Since 9am',
        priority: 'urgent',
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        subject: 'VPN down',
        description: 'Since 9am',
        priority: 'urgent',
        status: 'open',
        requesterId: tenant.adminId,
      });
    });
  });

  describe('GET /tickets/:id', () => {
    it('returns the ticket to an agent and an admin of its tenant', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Read me' });
      for (const token of [tenant.agent, tenant.admin]) {
        const res = await as(app, token).get(`/tickets/${created.body.id}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(created.body);
      }
    });

    it('returns 404 for a ticket that does not exist', async () => {
      const res = await as(app, tenant.agent).get(`/tickets/${UNKNOWN_ID}`);
      expect(res.status).toBe(404);
      expectErrorShape(res.body, 404);
      expect(res.body.message).toBe('ticket not found');
    });
  });

  describe('GET /tickets', () => {
    let listed: SupportTenant;

    beforeAll(async () => {
      listed = await supportTenant(owner, 'tickets-list');
      await insertTickets(listed.id, [
        { subject: 't1', createdAt: '2025-01-01T00:00:01.000Z' },
        { subject: 't2', status: 'pending', createdAt: '2025-01-01T00:00:02.000Z' },
        { subject: 't3', createdAt: '2025-01-01T00:00:03.000Z' },
        { subject: 't4', status: 'solved', createdAt: '2025-01-01T00:00:04.000Z' },
        { subject: 't5', status: 'pending', createdAt: '2025-01-01T00:00:05.000Z' },
      ]);
    });

    const subjects = (body: { items: { subject: string }[] }) => body.items.map((t) => t.subject);

    it('lists the tenant tickets newest first with no next cursor when all fit', async () => {
      const res = await as(app, listed.agent).get('/tickets');
      expect(res.status).toBe(200);
      expect(subjects(res.body)).toEqual(['t5', 't4', 't3', 't2', 't1']);
      expect(res.body.nextCursor).toBeNull();
      expect(Object.keys(res.body.items[0]).sort()).toEqual(
        [
          'assigneeId',
          'createdAt',
          'description',
          'id',
          'priority',
          'requesterId',
          'status',
          'subject',
          'updatedAt',
        ].sort(),
      );
    });

    it('filters by status', async () => {
      const res = await as(app, listed.admin).get('/tickets?status=pending');
      expect(res.status).toBe(200);
      expect(subjects(res.body)).toEqual(['t5', 't2']);
      expect(res.body.nextCursor).toBeNull();
    });

    it('pages with the cursor until nextCursor is null, each ticket once', async () => {
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/tickets?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await as(app, listed.agent).get(url);
        expect(res.status).toBe(200);
        pages.push(subjects(res.body));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(pages).toEqual([['t5', 't4'], ['t3', 't2'], ['t1']]);
    });

    it('pages a filtered list with the same cursor rules', async () => {
      const first = await as(app, listed.agent).get('/tickets?status=pending&limit=1');
      expect(subjects(first.body)).toEqual(['t5']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await as(app, listed.agent).get(
        `/tickets?status=pending&limit=1&cursor=${first.body.nextCursor}`,
      );
      expect(subjects(second.body)).toEqual(['t2']);
      expect(second.body.nextCursor).toBeNull();
    });

    it('breaks ties on equal createdAt by id, descending, without skipping or repeating', async () => {
      const ties = await supportTenant(owner, 'tickets-ties');
      const at = '2025-02-02T10:00:00.000Z';
      await insertTickets(ties.id, [
        { subject: 'a', createdAt: at },
        { subject: 'b', createdAt: at },
        { subject: 'c', createdAt: at },
      ]);
      const expected = (
        await dbRows<{ id: string }>(
          admin,
          `SELECT id FROM support.tickets WHERE tenant_id = $1 ORDER BY id DESC`,
          [ties.id],
        )
      ).map((r) => r.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await as(app, ties.agent).get(
          `/tickets?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...res.body.items.map((t: { id: string }) => t.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(expected);
    });

    it('returns 50 tickets by default and up to 100 with limit=100', async () => {
      const many = await supportTenant(owner, 'tickets-many');
      await inTenant(owner, many.id, () =>
        owner.query(
          `INSERT INTO support.tickets (tenant_id, subject, requester_id, created_at, updated_at)
           SELECT $1, 'bulk ' || n, gen_random_uuid(), now() - n * interval '1 second', now()
             FROM generate_series(1, 120) n`,
          [many.id],
        ),
      );
      const byDefault = await as(app, many.agent).get('/tickets');
      expect(byDefault.body.items).toHaveLength(50);
      expect(byDefault.body.items[0].subject).toBe('bulk 1');
      expect(byDefault.body.nextCursor).toEqual(expect.any(String));
      const max = await as(app, many.agent).get('/tickets?limit=100');
      expect(max.body.items).toHaveLength(100);
      const rest = await as(app, many.agent).get(
        `/tickets?limit=100&cursor=${max.body.nextCursor}`,
      );
      expect(rest.body.items.map((t: { subject: string }) => t.subject)).toEqual(
        Array.from({ length: 20 }, (_, i) => `bulk ${101 + i}`),
      );
      expect(rest.body.nextCursor).toBeNull();
    });
  });

  describe('PATCH /tickets/:id', () => {
    it('changes only the given fields and bumps updatedAt', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Old subject' });
      const assignee = tenant.adminId;
      const res = await as(app, tenant.agent).patch(`/tickets/${created.body.id}`, {
        subject: 'New subject',
        status: 'pending',
        priority: 'high',
        assigneeId: assignee,
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        ...created.body,
        subject: 'New subject',
        status: 'pending',
        priority: 'high',
        assigneeId: assignee,
        updatedAt: expect.stringMatching(ISO_TIMESTAMP),
      });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(Date.parse(created.body.updatedAt));
      const [row] = await dbRows(
        admin,
        `SELECT subject, status, priority, assignee_id FROM support.tickets WHERE id = $1`,
        [created.body.id],
      );
      expect(row).toEqual({
        subject: 'New subject',
        status: 'pending',
        priority: 'high',
        assignee_id: assignee,
      });
    });

    it('returns and stores an upper-case assigneeId in lower case, as GET returns it', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Shouted' });
      const res = await as(app, tenant.agent).patch(`/tickets/${created.body.id}`, {
        assigneeId: tenant.adminId.toUpperCase(),
      });
      expect(res.status).toBe(200);
      expect(res.body.assigneeId).toBe(tenant.adminId);
      const fetched = await as(app, tenant.agent).get(`/tickets/${created.body.id}`);
      expect(fetched.body).toEqual(res.body);
    });

    it('unassigns with assigneeId null, for an admin too', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Assigned' });
      await as(app, tenant.agent).patch(`/tickets/${created.body.id}`, {
        assigneeId: tenant.agentId,
      });
      const res = await as(app, tenant.admin).patch(`/tickets/${created.body.id}`, {
        assigneeId: null,
      });
      expect(res.status).toBe(200);
      expect(res.body.assigneeId).toBeNull();
    });

    it('returns the ticket unchanged for an empty body', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Untouched' });
      const res = await as(app, tenant.agent).patch(`/tickets/${created.body.id}`, {});
      expect(res.status).toBe(200);
      expect(res.body).toEqual(created.body);
    });

    it('returns 404 for a ticket that does not exist', async () => {
      const res = await as(app, tenant.agent).patch(`/tickets/${UNKNOWN_ID}`, { status: 'closed' });
      expect(res.status).toBe(404);
      expectErrorShape(res.body, 404);
    });
  });

  describe('DELETE /tickets/:id', () => {
    it('lets an admin delete a ticket with its comments (204, then 404)', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Delete me' });
      await as(app, tenant.agent).post(`/tickets/${created.body.id}/comments`, { body: 'bye' });
      const res = await as(app, tenant.admin).delete(`/tickets/${created.body.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await as(app, tenant.admin).get(`/tickets/${created.body.id}`)).status).toBe(404);
      expect(
        await dbRows(admin, `SELECT id FROM support.tickets WHERE id = $1`, [created.body.id]),
      ).toEqual([]);
      expect(
        (await storedComments(admin, tenant.id)).filter((c) => c.ticket_id === created.body.id),
      ).toEqual([]);
    });

    it('refuses an agent with 403 and deletes nothing', async () => {
      const created = await as(app, tenant.agent).post('/tickets', { subject: 'Keep me' });
      const before = await storedTickets(admin, tenant.id);
      const res = await as(app, tenant.agent).delete(`/tickets/${created.body.id}`);
      expect(res.status).toBe(403);
      expectErrorShape(res.body, 403);
      expect(await storedTickets(admin, tenant.id)).toEqual(before);
    });

    it('returns 404 for a ticket that does not exist', async () => {
      const res = await as(app, tenant.admin).delete(`/tickets/${UNKNOWN_ID}`);
      expect(res.status).toBe(404);
      expectErrorShape(res.body, 404);
    });
  });
});
