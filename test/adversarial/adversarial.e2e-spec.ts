import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { connect, createTenant, suffix } from '../support/db';
import {
  BothApps,
  createOrg,
  Org,
  SECRET,
  snapshot,
  startBothApps,
  vias,
} from './both-apps.fixture';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** An attacker tenant (A) against a victim tenant (B), across every route of both apps. */
for (const via of vias()) {
  describe(`adversarial HTTP across both apps (${via})`, () => {
    let owner: Client;
    let apps: BothApps;
    let a: Org;
    let b: Org;
    const bIds: Record<string, string> = {};
    let before: Record<string, unknown[]>;

    const send = (
      app: 'support' | 'sales',
      method: Method,
      path: string,
      token: string,
      body?: object,
    ) => {
      const agent = request(app === 'support' ? apps.supportUrl : apps.salesUrl);
      const r = agent[method](path).set('Authorization', `Bearer ${token}`);
      return body ? r.send(body) : r;
    };

    beforeAll(async () => {
      owner = await connect('owner');
      apps = await startBothApps(via);
      a = await createOrg(owner, apps, `adv-a-${suffix()}`);
      b = await createOrg(owner, apps, `adv-b-${suffix()}`);
      const ticket = await send('support', 'post', '/tickets', b.agent, {
        subject: `${b.tag}:secret ticket`,
      }).expect(201);
      bIds.ticket = ticket.body.id;
      await send('support', 'post', `/tickets/${bIds.ticket}/comments`, b.agent, {
        body: `${b.tag}:secret comment`,
      }).expect(201);
      const article = await send('support', 'post', '/kb/articles', b.supportAdmin, {
        title: `${b.tag} zanzibar secret`,
        body: `${b.tag} zanzibar private runbook`,
      }).expect(201);
      bIds.article = article.body.id;
      const deal = await send('sales', 'post', '/deals', b.rep, {
        accountId: b.accountId,
        title: `${b.tag}:secret deal`,
        amount: 1000,
      }).expect(201);
      bIds.deal = deal.body.id;
      const ownTicket = await send('support', 'post', '/tickets', a.agent, {
        subject: `${a.tag}:own ticket`,
      }).expect(201);
      bIds.aTicket = ownTicket.body.id;
      before = await snapshot(owner, b.id);
    });

    afterAll(async () => {
      await apps.close();
      await owner.end();
    });

    it('attacks both HTTP platforms: support-api on Express, sales-api on Fastify', () => {
      expect([apps.support, apps.sales].map((app) => app.getHttpAdapter().getType())).toEqual([
        'express',
        'fastify',
      ]);
    });

    type Route = [string, 'support' | 'sales', Method, () => string, () => string, (() => object)?];
    const idRoutes: Route[] = [
      ['GET a ticket', 'support', 'get', () => `/tickets/${bIds.ticket}`, () => a.agent],
      [
        'PATCH a ticket',
        'support',
        'patch',
        () => `/tickets/${bIds.ticket}`,
        () => a.agent,
        () => ({ subject: 'pwned' }),
      ],
      [
        'DELETE a ticket',
        'support',
        'delete',
        () => `/tickets/${bIds.ticket}`,
        () => a.supportAdmin,
      ],
      [
        'POST a comment on a ticket',
        'support',
        'post',
        () => `/tickets/${bIds.ticket}/comments`,
        () => a.agent,
        () => ({ body: 'pwned' }),
      ],
      [
        'GET the comments of a ticket',
        'support',
        'get',
        () => `/tickets/${bIds.ticket}/comments`,
        () => a.agent,
      ],
      [
        'PATCH an article',
        'support',
        'patch',
        () => `/kb/articles/${bIds.article}`,
        () => a.supportAdmin,
        () => ({ title: 'pwned' }),
      ],
      [
        'DELETE an article',
        'support',
        'delete',
        () => `/kb/articles/${bIds.article}`,
        () => a.supportAdmin,
      ],
      ['GET an account', 'sales', 'get', () => `/accounts/${b.accountId}`, () => a.rep],
      [
        'DELETE an account',
        'sales',
        'delete',
        () => `/accounts/${b.accountId}`,
        () => a.salesAdmin,
      ],
      ['GET a deal', 'sales', 'get', () => `/deals/${bIds.deal}`, () => a.salesAdmin],
      [
        'PATCH a deal',
        'sales',
        'patch',
        () => `/deals/${bIds.deal}`,
        () => a.salesAdmin,
        () => ({ title: 'pwned' }),
      ],
      ['DELETE a deal', 'sales', 'delete', () => `/deals/${bIds.deal}`, () => a.salesAdmin],
      [
        'POST a deal on an account',
        'sales',
        'post',
        () => '/deals',
        () => a.salesAdmin,
        () => ({ accountId: b.accountId, title: 'pwned', amount: 1 }),
      ],
      [
        'POST a deal owned by its user',
        'sales',
        'post',
        () => '/deals',
        () => a.salesAdmin,
        () => ({ accountId: a.accountId, title: 'pwned', amount: 1, ownerId: b.repId }),
      ],
      [
        'PUT a team member under its manager',
        'sales',
        'put',
        () => `/team/members/${randomUUID()}`,
        () => a.salesAdmin,
        () => ({ name: 'pwned', managerId: b.managerId }),
      ],
    ];

    it.each(idRoutes.map((r) => [r[0], r] as const))(
      'answers 404 to %s of another tenant and changes nothing',
      async (_, route) => {
        const [, app, method, path, token, body] = route;
        const res = await send(app, method, path(), token(), body?.());
        expect({ status: res.status, body: res.body }).toEqual({
          status: 404,
          body: { statusCode: 404, message: expect.any(String), error: 'Not Found' },
        });
        expect(await snapshot(owner, b.id)).toEqual(before);
      },
    );

    it("never lists, finds or counts another tenant's rows", async () => {
      const bodies = await Promise.all([
        send('support', 'get', '/tickets?limit=100', a.agent),
        send('support', 'get', '/kb/articles?q=zanzibar', a.agent),
        send('support', 'get', `/tickets/${bIds.aTicket}/comments`, a.agent),
        send('sales', 'get', '/accounts', a.rep),
        send('sales', 'get', '/deals', a.salesAdmin),
        send('sales', 'get', '/team/members', a.salesAdmin),
      ]);
      for (const res of bodies) {
        expect(res.status).toBe(200);
        const text = JSON.stringify(res.body);
        expect(text).not.toContain(b.tag);
        for (const id of [bIds.ticket, bIds.article, bIds.deal, b.accountId, b.repId, b.managerId])
          expect(text).not.toContain(id);
      }
      expect(bodies[1].body.items).toEqual([]);
      const pipeline = await send('sales', 'get', '/reports/pipeline', a.salesAdmin).expect(200);
      expect(pipeline.body.stages.reduce((n: number, s: { count: number }) => n + s.count, 0)).toBe(
        0,
      );
    });

    it.each([
      ['support', 'post', '/tickets', { subject: 'x', tenantId: 'B' }],
      ['support', 'post', '/tickets', { subject: 'x', tenant_id: 'B' }],
      ['support', 'post', '/tickets', { subject: 'x', requesterId: 'B' }],
      ['support', 'patch', '/tickets/:id', { tenantId: 'B' }],
      ['support', 'post', '/kb/articles', { title: 'x', body: 'y', tenant_id: 'B' }],
      ['sales', 'post', '/accounts', { name: 'x', tenantId: 'B' }],
      [
        'sales',
        'post',
        '/deals',
        { accountId: 'A_ACCOUNT', title: 'x', amount: 1, tenant_id: 'B' },
      ],
      ['sales', 'put', '/team/members/:userId', { name: 'x', managerId: null, tenantId: 'B' }],
    ] as const)(
      'rejects %s %s %s smuggling a tenant field with 400 and writes nothing',
      async (app, method, path, raw) => {
        const body = JSON.parse(
          JSON.stringify(raw)
            .replace(/"B"/g, JSON.stringify(b.id))
            .replace('A_ACCOUNT', a.accountId),
        );
        const url =
          path === '/tickets/:id'
            ? `/tickets/${bIds.aTicket}`
            : path.replace(':userId', randomUUID());
        const token = app === 'support' ? a.supportAdmin : a.salesAdmin;
        const aBefore = await snapshot(owner, a.id);
        const res = await send(app, method, url, token, body);
        expect(res.status).toBe(400);
        expect(JSON.stringify(res.body.message)).toMatch(/tenant|requester/i);
        expect(await snapshot(owner, a.id)).toEqual(aBefore);
        expect(await snapshot(owner, b.id)).toEqual(before);
      },
    );

    describe('token attacks on both apps', () => {
      const now = () => Math.floor(Date.now() / 1000);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const claims = (extra: object = {}) => ({
        tenant_id: b.id,
        sub: b.repId,
        role: 'admin',
        ...extra,
      });
      const hs = (payload: object, secret = SECRET) =>
        sign({ exp: now() + 600, ...payload }, secret, { algorithm: 'HS256' });
      let suspended: string;
      beforeAll(async () => {
        suspended = await createTenant(owner, `adv-susp-${suffix()}`, 'suspended');
      });
      const attacks = (): [string, string | undefined, number][] => [
        ['no token', undefined, 401],
        ['garbage', 'garbage', 401],
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 401],
        ['a wrong key', hs(claims(), 'not-the-secret-0123456789-0123456789-x'), 401],
        ['an expired token', hs(claims({ exp: now() - 10 })), 401],
        ['a token without exp', sign(claims(), SECRET, { algorithm: 'HS256' }), 401],
        ['a token not yet valid', hs(claims({ nbf: now() + 600 })), 401],
        ['missing claims', hs({ sub: b.repId }), 401],
        ['a non-uuid tenant', hs(claims({ tenant_id: 'globex' })), 401],
        ['an oversize claim', hs(claims({ x: 'y'.repeat(10_000) })), 401],
        [
          'SQL in the tenant claim',
          hs(claims({ tenant_id: `' OR 1=1; SET app.tenant_id='${b.id}` })),
          401,
        ],
        ['an unknown role', hs(claims({ role: 'root' })), 403],
        [
          'an unknown tenant',
          signToken(SECRET, { tenantId: randomUUID(), userId: randomUUID(), role: 'admin' }),
          401,
        ],
        [
          'a suspended tenant',
          signToken(SECRET, { tenantId: suspended, userId: randomUUID(), role: 'admin' }),
          403,
        ],
      ];
      it.each(['support', 'sales'] as const)(
        'refuses every bad token on %s-api with a clear JSON error and no data',
        async (app) => {
          for (const [name, token, status] of attacks()) {
            const path = app === 'support' ? '/tickets' : '/deals';
            const r = request(app === 'support' ? apps.supportUrl : apps.salesUrl).get(path);
            const res = await (token ? r.set('Authorization', `Bearer ${token}`) : r);
            expect({
              name,
              status: res.status,
              error: res.body.error,
              hasItems: 'items' in res.body,
            }).toEqual({
              name,
              status,
              error: status === 401 ? 'Unauthorized' : 'Forbidden',
              hasItems: false,
            });
          }
          expect(await snapshot(owner, b.id)).toEqual(before);
        },
      );
    });
  });
}
