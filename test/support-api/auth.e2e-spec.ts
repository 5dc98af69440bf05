import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { connect, createTenant } from '../support/db';
import { schemaProperties, successResponses } from '../support/openapi';
import {
  auth,
  expectErrorShape,
  JWT_SECRET,
  startSupportApi,
  storedTickets,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from './support-api.fixture';

const ROUTES: [string, string][] = [
  ['GET', '/tickets'],
  ['POST', '/tickets'],
  ['GET', `/tickets/${UNKNOWN_ID}`],
  ['PATCH', `/tickets/${UNKNOWN_ID}`],
  ['DELETE', `/tickets/${UNKNOWN_ID}`],
  ['GET', `/tickets/${UNKNOWN_ID}/comments`],
  ['POST', `/tickets/${UNKNOWN_ID}/comments`],
  ['GET', '/kb/articles'],
  ['POST', '/kb/articles'],
  ['PATCH', `/kb/articles/${UNKNOWN_ID}`],
  ['DELETE', `/kb/articles/${UNKNOWN_ID}`],
  ['GET', '/agents'],
  ['PUT', `/agents/${UNKNOWN_ID}`],
  ['DELETE', `/agents/${UNKNOWN_ID}`],
];

/** Who may call what: tokens, roles, tenant status, the open health route and the OpenAPI document. */
describe('support-api authentication and roles', () => {
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let tenant: SupportTenant;

  const send = (method: string, url: string, headers: Record<string, string> = {}) => {
    const server = request(app.getHttpServer());
    const req =
      method === 'GET'
        ? server.get(url)
        : method === 'POST'
          ? server.post(url)
          : method === 'PATCH'
            ? server.patch(url)
            : method === 'PUT'
              ? server.put(url)
              : server.delete(url);
    return req.set(headers).send(method === 'POST' || method === 'PATCH' ? {} : undefined);
  };

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSupportApi();
    tenant = await supportTenant(owner, 'auth');
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
    await admin.end();
  });

  it('answers GET /health without a token', async () => {
    const res = await request(app.getHttpServer()).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it.each(ROUTES)('refuses %s %s without a token with 401', async (method, url) => {
    const res = await send(method, url);
    expect(res.status).toBe(401);
    expectErrorShape(res.body, 401);
    expect(res.body.message).toBe('missing bearer token');
  });

  it.each([
    ['a wrong signature', () => signToken('x'.repeat(40), claims('agent'))],
    ['an expired token', () => signToken(JWT_SECRET, claims('agent'), '-10s')],
    ['garbage', () => 'not.a.jwt'],
    [
      'a non-uuid tenant',
      () =>
        sign({ tenant_id: 'acme', role: 'agent' }, JWT_SECRET, {
          subject: randomUUID(),
          expiresIn: '1h',
        }),
    ],
  ])('refuses %s with 401', async (_, token) => {
    const res = await request(app.getHttpServer()).get('/tickets').set(auth(token()));
    expect(res.status).toBe(401);
    expectErrorShape(res.body, 401);
  });

  function claims(role: string) {
    return { tenantId: tenant.id, userId: randomUUID(), role };
  }

  it('refuses a role support-api does not know with 403, writing nothing', async () => {
    const before = await storedTickets(admin, tenant.id);
    const res = await request(app.getHttpServer())
      .post('/tickets')
      .set(auth(signToken(JWT_SECRET, claims('viewer'))))
      .send({ subject: 'x' });
    expect(res.status).toBe(403);
    expectErrorShape(res.body, 403);
    expect(await storedTickets(admin, tenant.id)).toEqual(before);
  });

  it('refuses a tenant that does not exist with 401', async () => {
    const token = signToken(JWT_SECRET, {
      tenantId: randomUUID(),
      userId: randomUUID(),
      role: 'admin',
    });
    const res = await request(app.getHttpServer()).get('/tickets').set(auth(token));
    expect(res.status).toBe(401);
    expect(res.body.message).toBe('unknown tenant');
  });

  it('refuses a suspended tenant with 403', async () => {
    const suspended = await createTenant(owner, 'auth-suspended', 'suspended');
    const token = signToken(JWT_SECRET, {
      tenantId: suspended,
      userId: randomUUID(),
      role: 'admin',
    });
    const res = await request(app.getHttpServer()).get('/tickets').set(auth(token));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403,
      message: 'tenant is suspended',
      error: 'Forbidden',
    });
  });

  it.each([
    ['DELETE', `/tickets/${UNKNOWN_ID}`],
    ['POST', '/kb/articles'],
    ['PATCH', `/kb/articles/${UNKNOWN_ID}`],
    ['DELETE', `/kb/articles/${UNKNOWN_ID}`],
    ['PUT', `/agents/${UNKNOWN_ID}`],
    ['DELETE', `/agents/${UNKNOWN_ID}`],
  ])('refuses an agent on the admin-only route %s %s with 403', async (method, url) => {
    const res = await send(method, url, auth(tenant.agent));
    expect(res.status).toBe(403);
    expectErrorShape(res.body, 403);
    expect(res.body.message).toBe('requires role: admin');
  });

  it('publishes the OpenAPI document with every route at /docs', async () => {
    const ui = await request(app.getHttpServer()).get('/docs');
    expect(ui.status).toBe(200);
    const doc = await request(app.getHttpServer()).get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths).sort()).toEqual([
      '/agents',
      '/agents/{userId}',
      '/audit',
      '/health',
      '/kb/articles',
      '/kb/articles/{id}',
      '/tickets',
      '/tickets/{id}',
      '/tickets/{id}/comments',
    ]);
    expect(doc.body.components.schemas.CreateTicketDto.required).toEqual(['subject']);
    expect(successResponses(doc.body).sort()).toEqual(
      [
        ['DELETE /agents/{userId}', '204', null],
        ['DELETE /kb/articles/{id}', '204', null],
        ['DELETE /tickets/{id}', '204', null],
        ['GET /agents', '200', 'AgentPageResponse'],
        ['GET /audit', '200', 'AuditListResponse'],
        ['GET /health', '200', 'inline'],
        ['GET /kb/articles', '200', 'ArticleListResponse'],
        ['GET /tickets', '200', 'TicketPageResponse'],
        ['GET /tickets/{id}', '200', 'TicketResponse'],
        ['GET /tickets/{id}/comments', '200', 'CommentListResponse'],
        ['PATCH /kb/articles/{id}', '200', 'ArticleResponse'],
        ['PATCH /tickets/{id}', '200', 'TicketResponse'],
        ['POST /kb/articles', '201', 'ArticleResponse'],
        ['POST /tickets', '201', 'TicketResponse'],
        ['POST /tickets/{id}/comments', '201', 'CommentResponse'],
        ['PUT /agents/{userId}', '200', 'AgentResponse'],
      ].sort(),
    );
    for (const list of [
      'AgentPageResponse',
      'ArticleListResponse',
      'CommentListResponse',
      'TicketPageResponse',
    ]) {
      expect(schemaProperties(doc.body, list)).toEqual(['items', 'nextCursor']);
    }
  });
});
