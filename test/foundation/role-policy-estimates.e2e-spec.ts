import { Client } from 'pg';
import { currentRoleExpression, currentTenantWhenExpression, enableTenantRls } from '@app/tenancy';
import { connect, createTenant, inTenant, suffix } from '../support/db';

const ROLE_CHECK = `${currentRoleExpression()} IN ('member', 'lead')`;
const BIG = 2_000;

/**
 * A role check written the two ways a policy can write it, on the same rows: as a bare clause
 * (`<role> IN (...)`), and as `tenant_id = currentTenantWhenExpression(<role check>)`. Both allow
 * exactly the same rows; only the second lets the planner estimate the table as it is.
 */
describe('currentTenantWhenExpression: role checks the planner can count', () => {
  const schema = `scratch_${suffix()}`;
  let owner: Client;
  let app: Client;
  let big: string;
  let small: string;

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    big = await createTenant(owner, 'estimate-big');
    small = await createTenant(owner, 'estimate-small');
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
    for (const [table, using] of [
      ['bare', ROLE_CHECK],
      ['folded', `tenant_id = ${currentTenantWhenExpression(ROLE_CHECK)}`],
    ]) {
      await owner.query(`
        CREATE TABLE ${schema}.${table} (
          tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
          id int NOT NULL,
          PRIMARY KEY (tenant_id, id))`);
      for (const [tenant, rows] of [
        [big, BIG],
        [small, 10],
      ] as const) {
        await owner.query(
          `INSERT INTO ${schema}.${table} SELECT $1, g FROM generate_series(1, $2::int) g`,
          [tenant, rows],
        );
      }
      await enableTenantRls(owner, `${schema}.${table}`, { allowAllWithinTenant: false });
      await owner.query(
        `CREATE POLICY role_read ON ${schema}.${table} FOR SELECT TO PUBLIC USING (${using})`,
      );
      await owner.query(`ANALYZE ${schema}.${table}`);
    }
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    await app.end();
  });

  const count = (table: string, role: string) =>
    inTenant(
      app,
      big,
      async () =>
        (await app.query(`SELECT count(*)::int AS n FROM ${schema}.${table}`)).rows[0].n as number,
      { role },
    );

  const estimate = (table: string) =>
    inTenant(
      app,
      big,
      async () => {
        const res = await app.query(
          `EXPLAIN (FORMAT JSON) SELECT * FROM ${schema}.${table} WHERE tenant_id = $1`,
          [big],
        );
        return res.rows[0]['QUERY PLAN'][0].Plan['Plan Rows'] as number;
      },
      { role: 'member' },
    );

  it.each(['bare', 'folded'])(
    '%s: a listed role sees every row of its tenant, no other',
    async (t) => {
      expect(await count(t, 'member')).toBe(BIG);
      expect(await count(t, 'lead')).toBe(BIG);
    },
  );

  it.each(['bare', 'folded'])('%s: another role, or none, sees no row', async (t) => {
    expect(await count(t, 'guest')).toBe(0);
    expect(await count(t, '')).toBe(0);
  });

  it('folded: the planner estimates the tenant as it is', async () => {
    const rows = await estimate('folded');
    expect(rows).toBeGreaterThan(BIG * 0.8);
    expect(rows).toBeLessThan(BIG * 1.2);
  });

  it('bare: the planner estimates the same rows at a few percent (why the helper exists)', async () => {
    expect(await estimate('bare')).toBeLessThan(BIG * 0.1);
  });
});
