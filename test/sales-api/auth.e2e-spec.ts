import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { createTenant } from '../support/db';
import { schemaProperties, successResponses } from '../support/openapi';
import { call, SalesHarness, salesSetup, tokenFor } from './support/sales-harness';

const ROUTES: [method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string][] = [
  ['get', '/team/members'],
  ['put', `/team/members/${randomUUID()}`],
  ['post', '/accounts'],
  ['get', '/accounts'],
  ['get', `/accounts/${randomUUID()}`],
  ['delete', `/accounts/${randomUUID()}`],
  ['post', '/deals'],
  ['get', '/deals'],
  ['get', `/deals/${randomUUID()}`],
  ['patch', `/deals/${randomUUID()}`],
  ['delete', `/deals/${randomUUID()}`],
  ['get', '/reports/pipeline'],
];

/** Every sales route needs a valid token of an active tenant; /health needs none. */
describe('sales-api: authentication on every route', () => {
  let h: SalesHarness;
  let tenantId: string;
  let suspended: string;

  beforeAll(async () => {
    h = await salesSetup();
    tenantId = await createTenant(h.owner, 'sales-auth');
    suspended = await createTenant(h.owner, 'sales-auth-off', 'suspended');
  });

  afterAll(async () => {
    await h.close();
  });

  it('GET /health is 200 {"status":"ok"} without a token', async () => {
    const res = await request(h.app.getHttpServer()).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('serves the Swagger UI at /docs on Fastify', async () => {
    const res = await request(h.app.getHttpServer()).get('/docs').redirects(1).expect(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('serves the OpenAPI document at /docs-json with every route', async () => {
    const res = await request(h.app.getHttpServer()).get('/docs-json').expect(200);
    expect(Object.keys(res.body.paths).sort()).toEqual([
      '/accounts',
      '/accounts/{id}',
      '/audit',
      '/deals',
      '/deals/{id}',
      '/health',
      '/reports/pipeline',
      '/team/members',
      '/team/members/{userId}',
    ]);
  });

  it('documents the success response of every route, the lists with their nextCursor', async () => {
    const doc = (await request(h.app.getHttpServer()).get('/docs-json').expect(200)).body;
    expect(successResponses(doc).sort()).toEqual(
      [
        ['DELETE /accounts/{id}', '204', null],
        ['DELETE /deals/{id}', '204', null],
        ['GET /accounts', '200', 'AccountListResponse'],
        ['GET /accounts/{id}', '200', 'AccountResponse'],
        ['GET /audit', '200', 'AuditListResponse'],
        ['GET /deals', '200', 'DealListResponse'],
        ['GET /deals/{id}', '200', 'DealResponse'],
        ['GET /health', '200', 'inline'],
        ['GET /reports/pipeline', '200', 'PipelineResponse'],
        ['GET /team/members', '200', 'TeamMemberListResponse'],
        ['PATCH /deals/{id}', '200', 'DealResponse'],
        ['POST /accounts', '201', 'AccountResponse'],
        ['POST /deals', '201', 'DealResponse'],
        ['PUT /team/members/{userId}', '200', 'TeamMemberResponse'],
      ].sort(),
    );
    for (const list of ['AccountListResponse', 'DealListResponse', 'TeamMemberListResponse']) {
      expect(schemaProperties(doc, list)).toEqual(['items', 'nextCursor']);
    }
  });

  it.each(ROUTES)('%s %s without a token is 401', async (method, path) => {
    const res = await request(h.app.getHttpServer())[method](path).send({}).expect(401);
    expect(res.body).toEqual({
      statusCode: 401,
      message: 'missing bearer token',
      error: 'Unauthorized',
    });
  });

  it.each(ROUTES)('%s %s with a token signed by another secret is 401', async (method, path) => {
    const forged = signToken('another-secret-0123456789-0123456789-abc', {
      tenantId,
      userId: randomUUID(),
      role: 'admin',
    });
    await call(h.app, method, path, forged, {}).expect(401);
  });

  it.each(ROUTES)('%s %s with a role outside rep|manager|admin is 403', async (method, path) => {
    await call(h.app, method, path, tokenFor(tenantId, randomUUID(), 'owner'), {}).expect(403);
  });

  it.each(ROUTES)('%s %s for a suspended tenant is 403', async (method, path) => {
    const res = await call(
      h.app,
      method,
      path,
      tokenFor(suspended, randomUUID(), 'admin'),
      {},
    ).expect(403);
    expect(res.body.message).toBe('tenant is suspended');
  });

  it('rejects a token whose tenant does not exist with 401', async () => {
    await call(h.app, 'get', '/deals', tokenFor(randomUUID(), randomUUID(), 'admin')).expect(401);
  });

  it('answers a malformed :id with a plain JSON 400, no stack trace', async () => {
    const res = await call(
      h.app,
      'get',
      '/deals/nope',
      tokenFor(tenantId, randomUUID(), 'rep'),
    ).expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      message: ['id must be a UUID'],
      error: 'Bad Request',
    });
  });
});
