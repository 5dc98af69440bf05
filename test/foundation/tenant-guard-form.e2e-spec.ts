import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  checkTenancyCatalog,
  enableTenantRls,
  setTenantGuardForm,
  tenancyMigrations,
} from '@app/tenancy';
import { connect, inTenant, suffix } from '../support/db';

/** setTenantGuardForm: the tenant guard of enableTenantRls rewritten to and from the plain form. */
describe('setTenantGuardForm', () => {
  const schema = `guard_form_${suffix()}`;
  const [a, b] = [randomUUID(), randomUUID()];
  let owner: Client;
  let app: Client;

  /** The guard's USING and WITH CHECK as PostgreSQL prints them. */
  const guardOf = async (table: string) =>
    (
      await owner.query(
        `SELECT pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check
           FROM pg_policy WHERE polrelid = $1::regclass AND polname = 'tenant_guard'`,
        [`${schema}.${table}`],
      )
    ).rows;
  const citusFindings = async (table: string) =>
    (await checkTenancyCatalog(owner, { schemas: [schema], profile: 'citus' }))
      .filter((f) => f.relation === `${schema}.${table}`)
      .map((f) => f.code);
  const idsAs = (tenant: string | null, table = 'items') =>
    inTenant(app, tenant, async () =>
      (await app.query(`SELECT id FROM ${schema}.${table} ORDER BY id`)).rows.map(
        (r: { id: number }) => r.id,
      ),
    );

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
    await owner.query(
      `CREATE TABLE ${schema}.items (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
    );
    await owner.query(
      `CREATE TABLE ${schema}.orgs_items (org_id uuid NOT NULL, id int, PRIMARY KEY (org_id, id))`,
    );
    await enableTenantRls(owner, `${schema}.items`);
    await enableTenantRls(owner, `${schema}.orgs_items`, {
      tenantColumn: 'org_id',
      tenantSetting: 'kit.org_id',
    });
    for (const [tenant, id] of [
      [a, 1],
      [b, 2],
    ] as const) {
      await inTenant(owner, tenant, () =>
        owner.query(`INSERT INTO ${schema}.items VALUES ($1, $2)`, [tenant, id]),
      );
    }
  });
  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    await app.end();
  });

  it("'plain' drops the sub-select (no Citus finding) and 'sub-select' restores enableTenantRls's guard exactly", async () => {
    const made = await guardOf('items');
    expect(await citusFindings('items')).toEqual(['CITUS_POLICY_SUBQUERY']);
    await setTenantGuardForm(owner, `${schema}.items`, 'plain');
    const plain = `(tenant_id = (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid)`;
    expect(await guardOf('items')).toEqual([{ using: plain, check: plain }]);
    expect(await citusFindings('items')).toEqual([]);
    await setTenantGuardForm(owner, `${schema}.items`, 'sub-select');
    expect(await guardOf('items')).toEqual(made);
    await setTenantGuardForm(owner, `${schema}.items`, 'plain');
  });

  it('keeps the rule in the plain form: each tenant its own rows, none without a tenant, no row moved to another tenant', async () => {
    expect(await guardOf('items')).toEqual([
      {
        using: expect.not.stringContaining('SELECT'),
        check: expect.not.stringContaining('SELECT'),
      },
    ]);
    expect([await idsAs(a), await idsAs(b), await idsAs(null)]).toEqual([[1], [2], []]);
    await expect(
      inTenant(app, a, () => app.query(`UPDATE ${schema}.items SET tenant_id = $1`, [b])),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      inTenant(app, a, () => app.query(`INSERT INTO ${schema}.items VALUES ($1, 3)`, [b])),
    ).rejects.toMatchObject({ code: '42501' });
    expect([await idsAs(a), await idsAs(b)]).toEqual([[1], [2]]);
  });

  it('compares the tenant column and setting enableTenantRls was given', async () => {
    await setTenantGuardForm(owner, `${schema}.orgs_items`, 'plain', {
      tenantColumn: 'org_id',
      tenantSetting: 'kit.org_id',
    });
    const plain = `(org_id = (NULLIF(current_setting('kit.org_id'::text, true), ''::text))::uuid)`;
    expect(await guardOf('orgs_items')).toEqual([{ using: plain, check: plain }]);
  });

  it("tenancyMigrations() binds it: the factory's tenant column, setting and settingForm", async () => {
    const tenancy = tenancyMigrations({
      tenantColumn: 'org_id',
      settings: { tenantId: 'kit.org_id' },
      settingForm: 'sub-select',
    });
    await tenancy.setTenantGuardForm(owner, `${schema}.orgs_items`);
    expect((await guardOf('orgs_items'))[0].using).toContain('SELECT');
    await tenancyMigrations({
      tenantColumn: 'org_id',
      settings: { tenantId: 'kit.org_id' },
      settingForm: 'plain',
    }).setTenantGuardForm(owner, `${schema}.orgs_items`);
    const plain = `(org_id = (NULLIF(current_setting('kit.org_id'::text, true), ''::text))::uuid)`;
    expect(await guardOf('orgs_items')).toEqual([{ using: plain, check: plain }]);
  });
});
