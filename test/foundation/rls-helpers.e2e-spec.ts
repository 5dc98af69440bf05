import { Client } from 'pg';
import {
  disableTenantRls,
  dropRequestRole,
  enableSharedRls,
  enableTenantRls,
  ensureRequestRole,
  TenancyConfigurationError,
} from '@app/tenancy';
import { connect, createTenant, inTenant, suffix } from '../support/db';

/** Proves the migration helpers' policies as the app role and the owner, against real PostgreSQL. */
describe('RLS migration helpers', () => {
  const schema = `scratch_${suffix()}`;
  let owner: Client;
  let app: Client;
  let tenantA: string;
  let tenantB: string;
  let rowA: string;

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    tenantA = await createTenant(owner, 'rls-a');
    tenantB = await createTenant(owner, 'rls-b');
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
    await owner.query(`
      CREATE TABLE ${schema}.items (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        label text NOT NULL,
        PRIMARY KEY (tenant_id, id))`);
    await enableTenantRls(owner, `${schema}.items`);
    await owner.query(`
      CREATE TABLE ${schema}.articles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid REFERENCES tenancy.tenants (id),
        title text NOT NULL)`);
    await enableSharedRls(owner, `${schema}.articles`);
    for (const [tenant, label] of [
      [tenantA, 'a1'],
      [tenantA, 'a2'],
      [tenantB, 'b1'],
    ]) {
      await inTenant(owner, tenant, () =>
        owner.query(`INSERT INTO ${schema}.items (tenant_id, label) VALUES ($1, $2)`, [
          tenant,
          label,
        ]),
      );
    }
    rowA = (
      await inTenant(owner, tenantA, () =>
        owner.query(`SELECT id FROM ${schema}.items WHERE label = 'a1'`),
      )
    ).rows[0].id;
    await inTenant(owner, null, () =>
      owner.query(`INSERT INTO ${schema}.articles (tenant_id, title) VALUES (NULL, 'global')`),
    );
    await inTenant(owner, tenantA, () =>
      owner.query(`INSERT INTO ${schema}.articles (tenant_id, title) VALUES ($1, 'a-only')`, [
        tenantA,
      ]),
    );
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    await app.end();
  });

  const labels = async (c: Client, where = '', params: unknown[] = []) =>
    (await c.query(`SELECT label FROM ${schema}.items ${where} ORDER BY label`, params)).rows.map(
      (r: { label: string }) => r.label,
    );

  it('shows no rows and rejects inserts on a fresh connection with no tenant set', async () => {
    const fresh = await connect('app');
    try {
      expect(
        (await fresh.query(`SELECT current_setting('app.tenant_id', true) AS t`)).rows[0].t,
      ).toBeNull();
      expect(await labels(fresh)).toEqual([]);
      await expect(
        fresh.query(`INSERT INTO ${schema}.items (tenant_id, label) VALUES ($1, 'x')`, [tenantA]),
      ).rejects.toMatchObject({ code: '42501' });
    } finally {
      await fresh.end();
    }
  });

  it("shows no rows and rejects inserts after an earlier transaction set a tenant ('' not NULL)", async () => {
    await inTenant(app, tenantA, async () => expect(await labels(app)).toEqual(['a1', 'a2']));
    expect((await app.query(`SELECT current_setting('app.tenant_id', true) AS t`)).rows[0].t).toBe(
      '',
    );
    expect(await labels(app)).toEqual([]);
    await expect(
      app.query(`INSERT INTO ${schema}.items (tenant_id, label) VALUES ($1, 'x')`, [tenantA]),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('shows only the own tenant rows, even when asked for another tenant by WHERE', async () => {
    await inTenant(app, tenantA, async () => {
      expect(await labels(app)).toEqual(['a1', 'a2']);
      expect(await labels(app, 'WHERE tenant_id = $1', [tenantB])).toEqual([]);
    });
    await inTenant(app, tenantB, async () => expect(await labels(app)).toEqual(['b1']));
  });

  it("refuses to insert a row with another tenant's id", async () => {
    await expect(
      inTenant(app, tenantA, () =>
        app.query(`INSERT INTO ${schema}.items (tenant_id, label) VALUES ($1, 'smuggled')`, [
          tenantB,
        ]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await inTenant(app, tenantB, async () => expect(await labels(app)).toEqual(['b1']));
  });

  it("refuses to move a row to another tenant's id", async () => {
    await expect(
      inTenant(app, tenantA, () =>
        app.query(`UPDATE ${schema}.items SET tenant_id = $1 WHERE id = $2`, [tenantB, rowA]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await inTenant(app, tenantA, async () => expect(await labels(app)).toEqual(['a1', 'a2']));
  });

  it('filters the owner role too (FORCE ROW LEVEL SECURITY)', async () => {
    expect(await labels(owner)).toEqual([]);
    await inTenant(owner, tenantB, async () => expect(await labels(owner)).toEqual(['b1']));
  });

  it('lets every tenant read shared rows but only its own tenant rows', async () => {
    const titles = async () =>
      (await app.query(`SELECT title FROM ${schema}.articles ORDER BY title`)).rows.map(
        (r: { title: string }) => r.title,
      );
    await inTenant(app, tenantA, async () => expect(await titles()).toEqual(['a-only', 'global']));
    await inTenant(app, tenantB, async () => expect(await titles()).toEqual(['global']));
    expect(await titles()).toEqual([]);
  });

  it('never lets a tenant write shared rows', async () => {
    await expect(
      inTenant(app, tenantA, () =>
        app.query(`INSERT INTO ${schema}.articles (tenant_id, title) VALUES (NULL, 'fake global')`),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await inTenant(app, tenantA, async () => {
      const upd = await app.query(
        `UPDATE ${schema}.articles SET title = 'defaced' WHERE tenant_id IS NULL`,
      );
      const del = await app.query(`DELETE FROM ${schema}.articles WHERE tenant_id IS NULL`);
      expect([upd.rowCount, del.rowCount]).toEqual([0, 0]);
    });
    await inTenant(app, tenantB, async () => {
      const rows = await app.query(`SELECT title FROM ${schema}.articles`);
      expect(rows.rows).toEqual([{ title: 'global' }]);
    });
  });

  it('lets the app role write a shared table only outside its key, which the database fills', async () => {
    const privileges = await owner.query(
      `SELECT a.attname AS column,
              has_column_privilege('app_user', a.attrelid, a.attnum, 'SELECT') AS select,
              has_column_privilege('app_user', a.attrelid, a.attnum, 'INSERT') AS insert,
              has_column_privilege('app_user', a.attrelid, a.attnum, 'UPDATE') AS update
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum`,
      [`${schema}.articles`],
    );
    expect(privileges.rows).toEqual([
      { column: 'id', select: true, insert: false, update: false },
      { column: 'tenant_id', select: true, insert: true, update: true },
      { column: 'title', select: true, insert: true, update: true },
    ]);
    const inserted = await inTenant(app, tenantA, () =>
      app.query(
        `INSERT INTO ${schema}.articles (tenant_id, title) VALUES ($1, 'a-new') RETURNING tenant_id, title`,
        [tenantA],
      ),
    );
    expect(inserted.rows).toEqual([{ tenant_id: tenantA, title: 'a-new' }]);
  });

  it("gives a request role the app role's column privileges on a shared table", async () => {
    const role = `reader_${suffix()}`;
    const table = `${schema}.articles`;
    const columnPrivileges = async (grantee: string) =>
      (
        await owner.query(
          `SELECT a.attname AS column, p.privilege_type AS privilege
             FROM pg_attribute a CROSS JOIN LATERAL aclexplode(a.attacl) p
            WHERE a.attrelid = $1::regclass AND p.grantee = $2::regrole ORDER BY 1, 2`,
          [table, grantee],
        )
      ).rows;
    await ensureRequestRole(owner, role, { tables: [table] });
    try {
      expect(await columnPrivileges(role)).toEqual(await columnPrivileges('app_user'));
      expect(await columnPrivileges(role)).toEqual([
        { column: 'tenant_id', privilege: 'INSERT' },
        { column: 'tenant_id', privilege: 'UPDATE' },
        { column: 'title', privilege: 'INSERT' },
        { column: 'title', privilege: 'UPDATE' },
      ]);
    } finally {
      await dropRequestRole(owner, role, { tables: [table] });
    }
  });

  it('refuses to make a shared table whose key the app role would have to choose, changing nothing', async () => {
    const table = `${schema}.slugs`;
    await owner.query(`CREATE TABLE ${table} (slug text PRIMARY KEY, tenant_id uuid, title text)`);
    await expect(enableSharedRls(owner, table)).rejects.toThrow(
      new TenancyConfigurationError(
        `${table}: the application role would choose the value of slug in the unique key slugs_pkey, which omits tenant_id, so a unique violation would tell a tenant that another tenant's row holds that value; let the database fill it (DEFAULT gen_random_uuid() or an identity), make the key UNIQUE NULLS NOT DISTINCT (tenant_id, ...), or pass tenantRows: false`,
      ),
    );
    const state = await owner.query(
      `SELECT relrowsecurity AS rls, relacl::text AS acl,
              (SELECT count(*)::int FROM pg_policy WHERE polrelid = c.oid) AS policies
         FROM pg_class c WHERE c.oid = $1::regclass`,
      [table],
    );
    expect(state.rows).toEqual([{ rls: false, acl: null, policies: 0 }]);
  });

  it('reverses cleanly: disableTenantRls removes policies, FORCE and grants', async () => {
    await owner.query(
      `CREATE TABLE ${schema}.tmp (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
    );
    await enableTenantRls(owner, `${schema}.tmp`);
    await disableTenantRls(owner, `${schema}.tmp`);
    const state = await owner.query(
      `SELECT relrowsecurity, relforcerowsecurity,
              (SELECT count(*)::int FROM pg_policy WHERE polrelid = c.oid) AS policies,
              has_table_privilege('app_user', c.oid, 'SELECT') AS app_select
         FROM pg_class c WHERE c.oid = $1::regclass`,
      [`${schema}.tmp`],
    );
    expect(state.rows[0]).toEqual({
      relrowsecurity: false,
      relforcerowsecurity: false,
      policies: 0,
      app_select: false,
    });
  });
});
