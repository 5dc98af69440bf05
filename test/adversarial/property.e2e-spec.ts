import { Client } from 'pg';
import request from 'supertest';
import { connect, suffix } from '../support/db';
import { BothApps, createOrg, Org, snapshot, startBothApps, vias } from './both-apps.fixture';
import { prng } from '../support/prng';

const TENANTS = 50;
const REQUESTS = 5000;
const IN_FLIGHT = 24;

/**
 * Property: over 5,000 interleaved requests from 50 tenants against both apps on small pools, every
 * row returned and every row written belongs to the caller's tenant (each tenant tags what it writes).
 */
for (const via of vias()) {
  describe(`property: ${REQUESTS} mixed requests over ${TENANTS} tenants never cross tenants (${via})`, () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    let owner: Client;
    let apps: BothApps;
    const orgs: (Org & { tickets: string[]; deals: string[] })[] = [];

    beforeAll(async () => {
      owner = await connect('owner');
      apps = await startBothApps(via, 4);
      const run = suffix().slice(0, 4);
      for (let i = 0; i < TENANTS; i++) {
        orgs.push({ ...(await createOrg(owner, apps, `p${run}x${i}`)), tickets: [], deals: [] });
      }
    }, 120_000);

    afterAll(async () => {
      await apps.close();
      await owner.end();
    });

    it(`keeps every returned and written row in the caller's tenant (seed printed; replay with TEST_SEED)`, async () => {
      console.log(`[property ${via}] TEST_SEED=${seed}`);
      const random = prng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
      const violations: string[] = [];
      const written = new Map<string, number>();
      const check = (org: Org, what: string, texts: string[]) => {
        for (const t of texts)
          if (!t.startsWith(`${org.tag}:`)) violations.push(`${org.tag} ${what} saw ${t}`);
      };
      const ops: ((org: (typeof orgs)[number], i: number) => Promise<void>)[] = [
        async (org, i) => {
          const res = await request(apps.supportUrl)
            .post('/tickets')
            .set('Authorization', `Bearer ${org.agent}`)
            .send({ subject: `${org.tag}:t${i}` });
          if (res.status !== 201) return void violations.push(`POST /tickets ${res.status}`);
          org.tickets.push(res.body.id);
          written.set(`${org.tag}:tickets`, (written.get(`${org.tag}:tickets`) ?? 0) + 1);
        },
        async (org) => {
          const res = await request(apps.supportUrl)
            .get('/tickets?limit=20')
            .set('Authorization', `Bearer ${org.agent}`);
          if (res.status !== 200) return void violations.push(`GET /tickets ${res.status}`);
          check(
            org,
            'tickets',
            res.body.items.map((t: { subject: string }) => t.subject),
          );
        },
        async (org, i) => {
          if (!org.tickets.length) return;
          const id = pick(org.tickets);
          const res = await request(apps.supportUrl)
            .post(`/tickets/${id}/comments`)
            .set('Authorization', `Bearer ${org.agent}`)
            .send({ body: `${org.tag}:c${i}` });
          if (res.status !== 201) return void violations.push(`POST comment ${res.status}`);
          written.set(`${org.tag}:comments`, (written.get(`${org.tag}:comments`) ?? 0) + 1);
          const list = await request(apps.supportUrl)
            .get(`/tickets/${id}/comments`)
            .set('Authorization', `Bearer ${org.agent}`);
          check(
            org,
            'comments',
            list.body.items.map((c: { body: string }) => c.body),
          );
        },
        async (org) => {
          const other = pick(orgs.filter((o) => o !== org && o.tickets.length));
          if (!other) return;
          const res = await request(apps.supportUrl)
            .get(`/tickets/${pick(other.tickets)}`)
            .set('Authorization', `Bearer ${org.agent}`);
          if (res.status !== 404)
            violations.push(`${org.tag} read ${other.tag}'s ticket: ${res.status}`);
        },
        async (org, i) => {
          const res = await request(apps.salesUrl)
            .post('/deals')
            .set('Authorization', `Bearer ${org.rep}`)
            .send({ accountId: org.accountId, title: `${org.tag}:d${i}`, amount: i });
          if (res.status !== 201) return void violations.push(`POST /deals ${res.status}`);
          org.deals.push(res.body.id);
          written.set(`${org.tag}:deals`, (written.get(`${org.tag}:deals`) ?? 0) + 1);
        },
        async (org) => {
          const token = pick([org.rep, org.manager, org.salesAdmin]);
          const res = await request(apps.salesUrl)
            .get('/deals')
            .set('Authorization', `Bearer ${token}`);
          if (res.status !== 200) return void violations.push(`GET /deals ${res.status}`);
          check(
            org,
            'deals',
            res.body.items.map((d: { title: string }) => d.title),
          );
        },
        async (org) => {
          const res = await request(apps.salesUrl)
            .get('/accounts')
            .set('Authorization', `Bearer ${org.rep}`);
          check(
            org,
            'accounts',
            res.body.items.map((a: { name: string }) => a.name),
          );
        },
        async (org) => {
          const other = pick(orgs.filter((o) => o !== org && o.deals.length));
          if (!other) return;
          const res = await request(apps.salesUrl)
            .patch(`/deals/${pick(other.deals)}`)
            .set('Authorization', `Bearer ${org.salesAdmin}`)
            .send({ title: 'pwned' });
          if (res.status !== 404)
            violations.push(`${org.tag} patched ${other.tag}'s deal: ${res.status}`);
        },
        async (org) => {
          const expected = written.get(`${org.tag}:deals`) ?? 0;
          const res = await request(apps.salesUrl)
            .get('/reports/pipeline')
            .set('Authorization', `Bearer ${org.salesAdmin}`);
          const count = res.body.stages.reduce((n: number, s: { count: number }) => n + s.count, 0);
          if (count < expected)
            violations.push(`${org.tag} pipeline counts ${count} < written ${expected}`);
        },
      ];
      const plan = Array.from({ length: REQUESTS }, (_, i) => ({
        i,
        org: pick(orgs),
        op: pick(ops),
      }));
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < plan.length) {
            const { i, org, op } = plan[next++];
            await op(org, i);
          }
        }),
      );
      expect(violations).toEqual([]);
      for (const org of orgs) {
        const stored = await snapshot(owner, org.id);
        const tags = [
          ...stored['support.tickets'].map((r) => (r as { subject: string }).subject),
          ...stored['support.ticket_comments'].map((r) => (r as { body: string }).body),
          ...stored['sales.deals'].map((r) => (r as { title: string }).title),
        ];
        expect({
          tenant: org.tag,
          foreign: tags.filter((t) => !t.startsWith(`${org.tag}:`)),
        }).toEqual({ tenant: org.tag, foreign: [] });
        expect({
          tenant: org.tag,
          tickets: stored['support.tickets'].length,
          comments: stored['support.ticket_comments'].length,
          deals: stored['sales.deals'].length,
        }).toEqual({
          tenant: org.tag,
          tickets: written.get(`${org.tag}:tickets`) ?? 0,
          comments: written.get(`${org.tag}:comments`) ?? 0,
          deals: written.get(`${org.tag}:deals`) ?? 0,
        });
      }
    }, 300_000);
  });
}
