import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { DEMO_TENANTS } from '@app/demo-kit';
import { dropDatabase, PreparedDatabase, prepareDatabase } from '@app/dev-postgres';
import { supportDemoTokens } from '../../apps/support-api/src/demo-tokens';
import { supportDemoUsers } from '../../apps/support-api/src/demo-users';
import { seedSupport } from '../../apps/support-api/src/seed';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { migrateUp } from '../../migrations/run-migrations';
import { suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { auth, JWT_SECRET } from './support-api.fixture';

const BASE_URL = 'http://localhost:3001';

/** The demo seed (run twice, in a database of its own) and the tokens the demo prints. */
describe('support-api seed and demo tokens', () => {
  const database = `support_seed_${suffix()}`;
  let db: PreparedDatabase;
  let owner: Client;
  let superuser: Client;
  let app: INestApplication;

  const counts = async () =>
    (
      await superuser.query(
        `SELECT (SELECT count(*)::int FROM support.tickets) AS tickets,
                (SELECT count(*)::int FROM support.ticket_comments) AS comments,
                (SELECT count(*)::int FROM support.agents) AS agents,
                (SELECT count(*)::int FROM support.kb_articles WHERE tenant_id IS NULL) AS global_articles,
                (SELECT count(*)::int FROM support.kb_articles WHERE tenant_id IS NOT NULL) AS tenant_articles`,
      )
    ).rows[0];

  const tokenFor = (label: string) => {
    const found = supportDemoTokens(JWT_SECRET, BASE_URL).find((t) => t.label.includes(label));
    if (!found) throw new Error(`no demo token labelled ${label}`);
    return found.token;
  };

  beforeAll(async () => {
    db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    await migrateUp(db.ownerUrl);
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    superuser = new Client({ connectionString: db.adminUrl });
    await superuser.connect();
    for (const t of Object.values(DEMO_TENANTS)) {
      await owner.query(
        `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4)`,
        [t.id, t.slug, t.name, t.status],
      );
    }
    await seedSupport(owner);
    app = await createSupportApp({ databaseUrl: db.appUrl, jwtSecret: JWT_SECRET, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await owner?.end();
    await superuser?.end();
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it('seeds global articles and both tenants, and a second run adds nothing', async () => {
    const expected = {
      tickets: 5,
      comments: 3,
      agents: 4,
      global_articles: 3,
      tenant_articles: 2,
    };
    expect(await counts()).toEqual(expected);
    await seedSupport(owner);
    expect(await counts()).toEqual(expected);
  });

  it('files every seeded row under its own tenant', async () => {
    const rows = await superuser.query(
      `SELECT tenant_id, count(*)::int AS n FROM support.tickets GROUP BY tenant_id ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { tenant_id: DEMO_TENANTS.acme.id, n: 3 },
      { tenant_id: DEMO_TENANTS.globex.id, n: 2 },
    ]);
  });

  it('prints four tokens, agent and admin for acme and globex, each with a curl line', () => {
    const tokens = supportDemoTokens(JWT_SECRET, BASE_URL);
    expect(tokens.map((t) => t.label.split(' (')[0])).toEqual([
      'support-api: acme agent',
      'support-api: acme admin',
      'support-api: globex agent',
      'support-api: globex admin',
    ]);
    for (const t of tokens) {
      expect(t.curl).toMatch(
        /^curl -H "Authorization: Bearer \$TOKEN" "http:\/\/localhost:3001\/[a-z/?=]+"$/,
      );
    }
  });

  it("shows each demo agent its own tenant's seeded tickets, newest first", async () => {
    const acme = await request(app.getHttpServer())
      .get('/tickets')
      .set(auth(tokenFor('acme agent')));
    expect(acme.status).toBe(200);
    expect(acme.body.items.map((t: { subject: string }) => t.subject)).toEqual([
      'Invoice shows the wrong address',
      'Cannot reset password',
      'Rocket skates veer to the left',
    ]);
    const globex = await request(app.getHttpServer())
      .get('/tickets')
      .set(auth(tokenFor('globex agent')));
    expect(globex.body.items.map((t: { subject: string }) => t.subject)).toEqual([
      'Hammock delivery delayed',
      'Doomsday device needs a password reset',
    ]);
  });

  it('lets the demo admins search the global articles and their own', async () => {
    for (const [label, own] of [
      ['acme admin', 'Acme: returning defective anvils'],
      ['globex admin', 'Globex: volcano lair access badges'],
    ]) {
      const res = await request(app.getHttpServer())
        .get('/kb/articles')
        .set(auth(tokenFor(label)));
      expect(res.status).toBe(200);
      expect(
        res.body.items.map((a: { title: string; scope: string }) => [a.title, a.scope]),
      ).toEqual([
        [own, 'tenant'],
        ['Service status and maintenance windows', 'global'],
        ['Exporting your data', 'global'],
        ['How to reset your password', 'global'],
      ]);
      const search = await request(app.getHttpServer())
        .get('/kb/articles?q=password')
        .set(auth(tokenFor(label)));
      expect(search.body.items.map((a: { title: string }) => a.title)).toEqual([
        'How to reset your password',
      ]);
    }
  });

  it('makes every demo user an agent of its own tenant only', async () => {
    const rows = await superuser.query(
      `SELECT tenant_id, user_id FROM support.agents ORDER BY tenant_id, user_id`,
    );
    expect(rows.rows).toEqual(
      supportDemoUsers()
        .map((u) => ({ tenant_id: u.tenantId, user_id: u.userId }))
        .sort((x, y) => `${x.tenant_id}${x.user_id}`.localeCompare(`${y.tenant_id}${y.user_id}`)),
    );
  });

  it("lets a demo admin assign a ticket to the tenant's agent, and not to globex's", async () => {
    const acmeTicket = '0a000000-0000-4000-8000-000000001002';
    const [acmeAgent, , globexAgent] = supportDemoUsers();
    const patch = (assigneeId: string) =>
      request(app.getHttpServer())
        .patch(`/tickets/${acmeTicket}`)
        .set(auth(tokenFor('acme admin')))
        .send({ assigneeId });
    expect((await patch(globexAgent.userId)).status).toBe(400);
    const res = await patch(acmeAgent.userId);
    expect(res.status).toBe(200);
    expect(res.body.assigneeId).toBe(acmeAgent.userId);
    const agents = await request(app.getHttpServer())
      .get('/agents')
      .set(auth(tokenFor('acme agent')));
    expect(agents.body.items.map((x: { userId: string }) => x.userId)).toEqual(
      supportDemoUsers()
        .filter((u) => u.tenant === 'acme')
        .map((u) => u.userId)
        .sort(),
    );
  });

  it("keeps the demo tenants apart: globex gets 404 for acme's seeded ticket", async () => {
    const acmeTicket = '0a000000-0000-4000-8000-000000001001';
    const asAcme = await request(app.getHttpServer())
      .get(`/tickets/${acmeTicket}/comments`)
      .set(auth(tokenFor('acme agent')));
    expect(asAcme.body.items.map((c: { body: string }) => c.body)).toEqual([
      'Replacement gyroscopes are on their way.',
    ]);
    const asGlobex = await request(app.getHttpServer())
      .get(`/tickets/${acmeTicket}`)
      .set(auth(tokenFor('globex admin')));
    expect(asGlobex.status).toBe(404);
  });
});
