import { verify } from 'jsonwebtoken';
import { DEMO_TENANTS } from '@app/demo-kit';
import { salesDemoTokens } from '../../apps/sales-api/src/demo-tokens';
import { seedSales } from '../../apps/sales-api/src/seed';
import { ACME_USERS, SALES_SEED } from '../../apps/sales-api/src/seed-data';
import { inTenant } from '../support/db';
import { call, SalesHarness, salesSetup, SECRET, visibleDealIds } from './support/sales-harness';

const acmeDeal = (n: number) => `0a00de00-0000-4000-8000-${n.toString().padStart(12, '0')}`;

/** The demo seed is idempotent and the demo tokens work against the seeded data. */
describe('sales-api: demo seed and tokens', () => {
  let h: SalesHarness;

  const counts = async (tenantId: string) =>
    (
      await inTenant(
        h.owner,
        tenantId,
        () =>
          h.owner.query(
            `SELECT (SELECT count(*)::int FROM sales.team_members) AS members,
                    (SELECT sum(cardinality(chain))::int FROM sales.team_members) AS links,
                    (SELECT count(*)::int FROM sales.accounts) AS accounts,
                    (SELECT count(*)::int FROM sales.deals) AS deals`,
          ),
        { userId: ACME_USERS.ada, role: 'admin' },
      )
    ).rows[0];

  beforeAll(async () => {
    h = await salesSetup();
    for (const t of [DEMO_TENANTS.acme, DEMO_TENANTS.globex]) {
      await h.owner.query(
        `INSERT INTO tenancy.tenants (id, slug, name, status) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING`,
        [t.id, t.slug, t.name, t.status],
      );
    }
    await seedSales(h.owner);
  });

  afterAll(async () => {
    await h.close();
  });

  it('seeds acme (admin, two managers one under the other, four reps) and globex', async () => {
    expect(await counts(DEMO_TENANTS.acme.id)).toEqual({
      members: 7,
      links: 20,
      accounts: 3,
      deals: 10,
    });
    expect(await counts(DEMO_TENANTS.globex.id)).toEqual({
      members: 3,
      links: 6,
      accounts: 1,
      deals: 2,
    });
    expect(SALES_SEED.map((t) => t.tenantId)).toEqual([
      DEMO_TENANTS.acme.id,
      DEMO_TENANTS.globex.id,
    ]);
  });

  it('running it again changes nothing', async () => {
    const before = [await counts(DEMO_TENANTS.acme.id), await counts(DEMO_TENANTS.globex.id)];
    await seedSales(h.owner);
    await seedSales(h.owner);
    expect([await counts(DEMO_TENANTS.acme.id), await counts(DEMO_TENANTS.globex.id)]).toEqual(
      before,
    );
  });

  it('prints a token and a curl line for the acme admin, a manager and a rep', () => {
    const tokens = salesDemoTokens(SECRET, 'http://localhost:3002');
    expect(tokens.map((t) => t.curl)).toEqual(
      Array(3).fill('curl -H "Authorization: Bearer $TOKEN" http://localhost:3002/deals'),
    );
    expect(
      tokens.map((t) => {
        const claims = verify(t.token, SECRET) as Record<string, string>;
        return [claims.tenant_id, claims.sub, claims.role];
      }),
    ).toEqual([
      [DEMO_TENANTS.acme.id, ACME_USERS.ada, 'admin'],
      [DEMO_TENANTS.acme.id, ACME_USERS.mona, 'manager'],
      [DEMO_TENANTS.acme.id, ACME_USERS.rita, 'rep'],
    ]);
  });

  it('the demo tokens see the seeded deals the hierarchy allows', async () => {
    const [admin, manager, rep] = salesDemoTokens(SECRET, 'http://localhost:3002').map(
      (t) => t.token,
    );
    const ids = (...n: number[]) => n.map(acmeDeal).sort();
    expect(await visibleDealIds(h, admin)).toEqual(ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    expect(await visibleDealIds(h, manager)).toEqual(ids(1, 2, 3, 4, 5, 6, 7, 8, 9));
    expect(await visibleDealIds(h, rep)).toEqual(ids(1, 2));
  });

  it('still seeds after a re-org and a deleted account through the API (deleted rows come back)', async () => {
    const [admin] = salesDemoTokens(SECRET, 'http://localhost:3002').map((t) => t.token);
    const put = (userId: string, name: string, managerId: string | null) =>
      call(h.app, 'put', `/team/members/${userId}`, admin, { name, managerId }).expect(200);
    await put(ACME_USERS.max, 'Max Manager', ACME_USERS.ada);
    await put(ACME_USERS.mona, 'Mona Manager', ACME_USERS.max);
    const account = SALES_SEED[0].accounts[0].id;
    await call(h.app, 'delete', `/accounts/${account}`, admin).expect(204);
    await seedSales(h.owner);
    await call(h.app, 'get', `/accounts/${account}`, admin).expect(200);
    await put(ACME_USERS.mona, 'Mona Manager', ACME_USERS.ada);
    await put(ACME_USERS.max, 'Max Manager', ACME_USERS.mona);
    expect(await counts(DEMO_TENANTS.acme.id)).toEqual({
      members: 7,
      links: 20,
      accounts: 3,
      deals: 10,
    });
  });
});
