import { Client } from 'pg';
import { checkTenancyCatalog, enableSharedRls, enableTenantRls } from '@app/tenancy';
import { connect, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp } from '../tenancy/fixtures/notes.app';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';

describe('checkTenancyCatalog', () => {
  let owner: Client;
  let admin: Client;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    await ensureNotesSchema(owner);
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

  it('reports an application role that can create temporary tables, and the module refuses to start, until it cannot', async () => {
    const database = testUrl('database');
    const temporaryFindings = async () =>
      (await checkTenancyCatalog(owner, { schemas: ['tenancy', 'support', 'sales'] })).filter(
        (f) => f.code === 'APP_ROLE_TEMPORARY',
      );
    await admin.query(`GRANT TEMPORARY ON DATABASE ${database} TO app_user`);
    try {
      expect(await temporaryFindings()).toEqual([
        {
          code: 'APP_ROLE_TEMPORARY',
          message: expect.stringMatching(
            new RegExp(
              `^the application role "app_user" can create temporary tables in database ${database},.*REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC, app_user`,
            ),
          ),
        },
      ]);
      await expect(createNotesApp({ databaseUrl: testUrl('appUrl') })).rejects.toThrow(
        /refusing to start[\s\S]*\[APP_ROLE_TEMPORARY\] the application role "app_user" can create temporary tables/,
      );
    } finally {
      await admin.query(`REVOKE TEMPORARY ON DATABASE ${database} FROM app_user`);
    }
    expect(await temporaryFindings()).toEqual([]);
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

    it('still reports a unique index without tenant_id once a foreign key references it', async () => {
      const { rows } = await owner.query(
        `SELECT conname FROM pg_constraint WHERE conindid = $1::regclass`,
        [`${schema}.parent_id_uq`],
      );
      expect(rows).toEqual([{ conname: 'child_bad_parent_id_fkey' }]);
      expect(await codesFor('parent')).toEqual(['UNIQUE_WITHOUT_TENANT']);
    });

    it("reports a shared table's keys the app role may choose, until it may write only the other columns", async () => {
      const relation = `${schema}.shared_keys`;
      await owner.query(
        `CREATE TABLE ${relation} (id int PRIMARY KEY, tenant_id uuid, slug text, title text)`,
      );
      await owner.query(`CREATE UNIQUE INDEX shared_keys_slug_uq ON ${relation} (slug)`);
      await enableTenantRls(owner, relation);
      const writable = (key: string) => ({
        code: 'SHARED_KEY_WRITABLE',
        relation,
        message: expect.stringContaining(
          `the application role "app_user" may choose its ${key} in an INSERT or UPDATE`,
        ),
      });
      const findings = async () =>
        (await checkTenancyCatalog(owner, { schemas: [schema] })).filter(
          (f) => f.relation === relation,
        );

      expect(await findings()).toEqual([
        writable('primary key shared_keys_pkey (id)'),
        writable('unique index shared_keys_slug_uq (slug)'),
      ]);
      await owner.query(`REVOKE INSERT, UPDATE ON ${relation} FROM app_user`);
      await owner.query(
        `GRANT INSERT (tenant_id, title), UPDATE (slug) ON ${relation} TO app_user`,
      );
      expect(await findings()).toEqual([writable('unique index shared_keys_slug_uq (slug)')]);
      await owner.query(`REVOKE UPDATE (slug) ON ${relation} FROM app_user`);
      await owner.query(`GRANT UPDATE (tenant_id, title) ON ${relation} TO app_user`);
      expect(await findings()).toEqual([]);
    });

    it('accepts a shared table made by enableSharedRls, whose keys the database fills', async () => {
      await owner.query(
        `CREATE TABLE ${schema}.shared_ok (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid,
           code bigint GENERATED ALWAYS AS IDENTITY UNIQUE, title text)`,
      );
      await enableSharedRls(owner, `${schema}.shared_ok`);
      expect(await codesFor('shared_ok')).toEqual([]);
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

      it('reports a role the app role can become that may choose a shared key or create temporary tables', async () => {
        const writer = `${role}_writer`;
        const database = testUrl('database');
        await admin.query(`CREATE ROLE ${role} LOGIN NOINHERIT`);
        await admin.query(`CREATE ROLE ${writer} NOLOGIN`);
        try {
          await admin.query(`GRANT ${writer} TO ${role}`);
          const found = async () =>
            (await checkTenancyCatalog(owner, { schemas: [schema], appRole: role }))
              .filter((f) => ['SHARED_KEY_WRITABLE', 'APP_ROLE_TEMPORARY'].includes(f.code))
              .map((f) => `${f.code} ${f.message.slice(0, f.message.indexOf(' in '))}`);
          expect(await found()).toEqual([]);
          await owner.query(`GRANT UPDATE (id) ON ${schema}.shared_ok TO ${writer}`);
          await admin.query(`GRANT TEMPORARY ON DATABASE ${database} TO ${writer}`);
          expect(await found()).toEqual([
            `APP_ROLE_TEMPORARY the application role "${role}" can become "${writer}" (SET ROLE), which can create temporary tables`,
            `SHARED_KEY_WRITABLE ${schema}.shared_ok is shared (tenant_id may be NULL), and the application role "${role}", as "${writer}", may choose its primary key shared_ok_pkey (id)`,
          ]);
        } finally {
          await admin.query(`DROP OWNED BY ${writer}`);
          await admin.query(`DROP ROLE ${writer}`);
          await admin.query(`DROP ROLE ${role}`);
        }
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
