import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { connect } from '../support/db';
import {
  as,
  auth,
  expectErrorShape,
  startSupportApi,
  storedTickets,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

/** Bad input on every route: a 400 naming the field, JSON without a stack, nothing written. */
describe('support-api bad input', () => {
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let tenant: SupportTenant;
  let ticketId: string;

  const messages = (body: { message: string | string[] }) =>
    Array.isArray(body.message) ? body.message : [body.message];

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    tenant = await supportTenant(owner, 'bad-input');
    ticketId = (await as(app, tenant.agent).post('/tickets', { subject: 'Target' })).body.id;
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  describe('a non-UUID :id', () => {
    it.each([
      ['GET', '/tickets/not-a-uuid'],
      ['PATCH', '/tickets/not-a-uuid'],
      ['DELETE', '/tickets/123'],
      ['GET', '/tickets/not-a-uuid/comments'],
      ['POST', '/tickets/not-a-uuid/comments'],
      ['PATCH', "/kb/articles/1'%20OR%20'1'='1"],
      ['DELETE', '/kb/articles/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
    ])('%s %s is a 400 naming id', async (method, url) => {
      const client = as(app, tenant.admin);
      const body = method === 'POST' ? { body: 'x' } : url.startsWith('/kb') ? { title: 'x' } : {};
      const res =
        method === 'GET'
          ? await client.get(url)
          : method === 'DELETE'
            ? await client.delete(url)
            : method === 'POST'
              ? await client.post(url, body)
              : await client.patch(url, body);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body)).toEqual(['id must be a UUID']);
    });
  });

  describe('POST /tickets', () => {
    it.each([
      ['tenantId', { tenantId: UNKNOWN_ID }],
      ['tenant_id', { tenant_id: UNKNOWN_ID }],
      ['id', { id: UNKNOWN_ID }],
      ['requesterId', { requesterId: UNKNOWN_ID }],
      ['assigneeId', { assigneeId: UNKNOWN_ID }],
      ['status', { status: 'closed' }],
      ['createdAt', { createdAt: '2020-01-01T00:00:00.000Z' }],
    ])('refuses the unknown field %s with 400 and writes nothing', async (field, extra) => {
      const before = await storedTickets(admin, tenant.id);
      const res = await as(app, tenant.agent).post('/tickets', { subject: 'Smuggle', ...extra });
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body)).toEqual([`${field}: property ${field} should not exist`]);
      expect(await storedTickets(admin, tenant.id)).toEqual(before);
    });

    it.each([
      ['a missing subject', {}, 'subject must be a string'],
      ['an empty subject', { subject: '' }, 'subject must not be empty'],
      ['a blank subject', { subject: '  \t ' }, 'subject must not be empty'],
      ['a numeric subject', { subject: 123 }, 'subject must be a string'],
      ['a null subject', { subject: null }, 'subject must be a string'],
      [
        'a subject over 200 characters',
        { subject: 's'.repeat(201) },
        'subject must be shorter than or equal to 200 characters',
      ],
      [
        'a description over 10,000 characters',
        { subject: 's', description: 'd'.repeat(10001) },
        'description must be shorter than or equal to 10000 characters',
      ],
      ['a numeric description', { subject: 's', description: 5 }, 'description must be a string'],
      ['an unknown priority', { subject: 's', priority: 'critical' }, 'priority must be one of'],
    ])('refuses %s with 400 naming the field, and writes nothing', async (_, body, message) => {
      const before = await storedTickets(admin, tenant.id);
      const res = await as(app, tenant.agent).post('/tickets', body);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body).join('\n')).toContain(message);
      expect(await storedTickets(admin, tenant.id)).toEqual(before);
    });

    it('accepts the longest subject and description', async () => {
      const res = await as(app, tenant.agent).post('/tickets', {
        subject: 's'.repeat(200),
        description: 'd'.repeat(10000),
      });
      expect(res.status).toBe(201);
      expect([res.body.subject.length, res.body.description.length]).toEqual([200, 10000]);
    });

    it('refuses a body that is not JSON with 400 as JSON', async () => {
      const res = await request(app.getHttpServer())
        .post('/tickets')
        .set(auth(tenant.agent))
        .set('Content-Type', 'application/json')
        .send('{"subject": ');
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
    });
  });

  describe('PATCH /tickets/:id', () => {
    it.each([
      ['tenantId', { tenantId: UNKNOWN_ID }],
      ['tenant_id', { tenant_id: UNKNOWN_ID }],
      ['id', { id: UNKNOWN_ID }],
      ['requesterId', { requesterId: UNKNOWN_ID }],
      ['description', { description: 'not editable here' }],
      ['updatedAt', { updatedAt: '2020-01-01T00:00:00.000Z' }],
    ])('refuses the unknown field %s with 400 and changes nothing', async (field, extra) => {
      const before = await storedTickets(admin, tenant.id);
      const res = await as(app, tenant.agent).patch(`/tickets/${ticketId}`, {
        status: 'solved',
        ...extra,
      });
      expect(res.status).toBe(400);
      expect(messages(res.body)).toEqual([`${field}: property ${field} should not exist`]);
      expect(await storedTickets(admin, tenant.id)).toEqual(before);
    });

    it.each([
      ['an unknown status', { status: 'done' }, 'status must be one of'],
      ['a null status', { status: null }, 'status must be one of'],
      ['an unknown priority', { priority: 'meh' }, 'priority must be one of'],
      ['an empty subject', { subject: '' }, 'subject must not be empty'],
      ['a null subject', { subject: null }, 'subject must be a string'],
      ['a long subject', { subject: 'x'.repeat(201) }, 'subject must be shorter'],
      ['a non-UUID assigneeId', { assigneeId: 'bob' }, 'assigneeId must be a UUID'],
      ['a numeric assigneeId', { assigneeId: 7 }, 'assigneeId must be a UUID'],
    ])('refuses %s with 400 naming the field, and changes nothing', async (_, body, message) => {
      const before = await storedTickets(admin, tenant.id);
      const res = await as(app, tenant.agent).patch(`/tickets/${ticketId}`, body);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body).join('\n')).toContain(message);
      expect(await storedTickets(admin, tenant.id)).toEqual(before);
    });
  });

  describe('GET /tickets query', () => {
    it.each([
      ['status=bogus', 'status must be one of'],
      ['status=open&status=solved', 'status must be one of'],
      ['limit=0', 'limit must not be less than 1'],
      ['limit=101', 'limit must not be greater than 100'],
      ['limit=abc', 'limit must be an integer number'],
      ['limit=1.5', 'limit must be an integer number'],
      ['limit=', 'limit must not be less than 1'],
      ['page=2', 'property page should not exist'],
    ])('refuses ?%s with 400 naming the parameter', async (query, message) => {
      const res = await as(app, tenant.agent).get(`/tickets?${query}`);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body).join('\n')).toContain(message);
    });

    it.each([
      ['garbage', 'not-a-cursor'],
      ['a cursor without an id', Buffer.from('2025-01-01T00:00:00.000Z').toString('base64url')],
      ['a bad date', Buffer.from(`yesterday|${UNKNOWN_ID}`).toString('base64url')],
      [
        'an impossible date',
        Buffer.from(`2025-13-01T00:00:00.000Z|${UNKNOWN_ID}`).toString('base64url'),
      ],
      ['a bad id', Buffer.from('2025-01-01T00:00:00.000Z|bob').toString('base64url')],
      [
        'extra parts',
        Buffer.from(`2025-01-01T00:00:00.000Z|${UNKNOWN_ID}|x`).toString('base64url'),
      ],
      ['an over-long cursor', 'a'.repeat(201)],
      ['year 0000', Buffer.from(`0000-01-01T00:00:00.000Z|${UNKNOWN_ID}`).toString('base64url')],
      [
        'a negative year',
        Buffer.from(`-000001-01-01T00:00:00.000Z|${UNKNOWN_ID}`).toString('base64url'),
      ],
      [
        'a six-digit year',
        Buffer.from(`+010000-01-01T00:00:00.000Z|${UNKNOWN_ID}`).toString('base64url'),
      ],
    ])('refuses a malformed cursor (%s) with 400', async (_, cursor) => {
      const res = await as(app, tenant.agent).get(`/tickets?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect(messages(res.body).join('\n')).toMatch(/cursor/);
    });
  });
});
