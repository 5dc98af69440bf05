import { Client } from 'pg';
import { checkTenancyCatalog, enableTenantRls } from '@app/tenancy';
import { connect, suffix } from '../support/db';

describe('checkTenancyCatalog', () => {
  let owner: Client;
  let admin: Client;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
  });
  afterAll(async () => {
    await owner.end();
    await admin.end();
  });

  it("passes on the project's migrated schema", async () => {
    expect(await checkTenancyCatalog(owner, { schemas: ['tenancy', 'support', 'sales'] })).toEqual(
      [],
    );
  });

  describe('on deliberately broken tables', () => {
    const schema = `broken_${suffix()}`;
    const codesFor = async (relation: string) =>
      (await checkTenancyCatalog(owner, { schemas: [schema] }))
        .filter((f) => f.relation === `${schema}.${relation}`)
        .map((f) => f.code)
        .sort();

    beforeAll(async () => {
      await owner.query(`CREATE SCHEMA ${schema}`);
      await owner.query(
        `CREATE TABLE ${schema}.parent (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
      );
      await owner.query(`CREATE UNIQUE INDEX parent_id_uq ON ${schema}.parent (id)`);
      await enableTenantRls(owner, `${schema}.parent`);
    });
    afterAll(async () => {
      await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    });

    it('reports a tenant table without RLS, FORCE or policy', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.bare (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
      );
      expect(await codesFor('bare')).toEqual(['NO_POLICY', 'RLS_NOT_ENABLED', 'RLS_NOT_FORCED']);
    });

    it('reports RLS enabled but not forced', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.unforced (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
      );
      await enableTenantRls(owner, `${schema}.unforced`);
      await owner.query(`ALTER TABLE ${schema}.unforced NO FORCE ROW LEVEL SECURITY`);
      expect(await codesFor('unforced')).toEqual(['RLS_NOT_FORCED']);
    });

    it('reports a primary key that does not start with tenant_id, and a missing one', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.idpk (id int PRIMARY KEY, tenant_id uuid NOT NULL)`,
      );
      await enableTenantRls(owner, `${schema}.idpk`);
      await owner.query(`CREATE TABLE ${schema}.nopk (tenant_id uuid NOT NULL, id int)`);
      await enableTenantRls(owner, `${schema}.nopk`);
      expect(await codesFor('idpk')).toEqual(['PRIMARY_KEY_NOT_TENANT_LED']);
      expect(await codesFor('nopk')).toEqual(['PRIMARY_KEY_NOT_TENANT_LED']);
    });

    it('reports unique constraints and unique indexes without tenant_id', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.uq (tenant_id uuid NOT NULL, id int, email text UNIQUE, PRIMARY KEY (tenant_id, id))`,
      );
      await enableTenantRls(owner, `${schema}.uq`);
      expect(await codesFor('uq')).toEqual(['UNIQUE_WITHOUT_TENANT']);
      expect(await codesFor('parent')).toEqual(['UNIQUE_WITHOUT_TENANT']);
    });

    it('reports a foreign key without tenant_id, and accepts a composite one', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.child_bad (tenant_id uuid NOT NULL, id int, parent_id int REFERENCES ${schema}.parent (id), PRIMARY KEY (tenant_id, id))`,
      );
      await enableTenantRls(owner, `${schema}.child_bad`);
      await owner.query(
        `CREATE TABLE ${schema}.child_ok (tenant_id uuid NOT NULL, id int, parent_id int, PRIMARY KEY (tenant_id, id), FOREIGN KEY (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id))`,
      );
      await enableTenantRls(owner, `${schema}.child_ok`);
      expect(await codesFor('child_bad')).toEqual(['FOREIGN_KEY_WITHOUT_TENANT']);
      expect(await codesFor('child_ok')).toEqual([]);
    });

    it('reports a view that is not security_invoker, and accepts one that is', async () => {
      await owner.query(`CREATE VIEW ${schema}.v_owner AS SELECT * FROM ${schema}.child_ok`);
      await owner.query(
        `CREATE VIEW ${schema}.v_invoker WITH (security_invoker = true) AS SELECT * FROM ${schema}.child_ok`,
      );
      expect(await codesFor('v_owner')).toEqual(['VIEW_NOT_SECURITY_INVOKER']);
      expect(await codesFor('v_invoker')).toEqual([]);
    });

    it('reports a materialized view the app role can read, and not one it cannot', async () => {
      await owner.query(
        `CREATE MATERIALIZED VIEW ${schema}.mv_totals AS SELECT tenant_id, count(*) AS n FROM ${schema}.child_ok GROUP BY 1`,
      );
      expect(await codesFor('mv_totals')).toEqual([]);
      await owner.query(`GRANT SELECT ON ${schema}.mv_totals TO app_user`);
      expect(await codesFor('mv_totals')).toEqual(['MATERIALIZED_VIEW_READABLE']);
    });

    describe('and an unsafe application role', () => {
      const role = `bad_app_${suffix()}`;
      afterAll(async () => {
        await admin.query(`REASSIGN OWNED BY ${role} TO tenancy_owner`);
        await admin.query(`DROP OWNED BY ${role}`);
        await admin.query(`DROP ROLE ${role}`);
      });
      const roleCodes = async () =>
        (await checkTenancyCatalog(owner, { schemas: [schema], appRole: role }))
          .filter((f) => f.code.startsWith('APP_ROLE'))
          .map((f) => `${f.code}${f.relation ? ` ${f.relation}` : ''}`)
          .sort();

      it('reports a missing role', async () => {
        expect(await roleCodes()).toEqual(['APP_ROLE_MISSING']);
      });

      it('reports a superuser, a BYPASSRLS role and an owner of a tenant table', async () => {
        await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER BYPASSRLS`);
        await admin.query(`ALTER TABLE ${schema}.child_ok OWNER TO ${role}`);
        expect(await roleCodes()).toEqual([
          'APP_ROLE_BYPASSRLS',
          'APP_ROLE_OWNS_TENANT_TABLE ' + `${schema}.child_ok`,
          'APP_ROLE_SUPERUSER',
        ]);
      });
    });
  });
});
