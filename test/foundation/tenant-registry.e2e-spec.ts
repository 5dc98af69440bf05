import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { checkTenantRegistry, createTenantRegistry, dropTenantRegistry } from '@app/tenancy';
import { connect, inTenant, suffix } from '../support/db';

/** Columns (type, null, default) and constraints of a table, comparable across schemas. */
const SHAPE = `
  SELECT 'column ' || a.attname AS key,
         concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS value
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || conname, pg_get_constraintdef(oid)
    FROM pg_constraint WHERE conrelid = $1::regclass AND contype <> 'n'
  ORDER BY 1`;

/** Everything createTenantRegistry sets on a table: RLS flags, grants and policies. */
const SECURITY = `
  SELECT 'rls' AS key, concat_ws(' ', relrowsecurity, relforcerowsecurity) AS value
    FROM pg_class WHERE oid = $1::regclass
  UNION ALL
  SELECT 'acl', relacl::text FROM pg_class WHERE oid = $1::regclass
  UNION ALL
  SELECT 'policy ' || polname,
         concat_ws(' ', polcmd, polpermissive, polroles::regrole[]::text,
                   pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid))
    FROM pg_policy WHERE polrelid = $1::regclass
  ORDER BY 1`;

/** createTenantRegistry and dropTenantRegistry on a scratch schema, as the owner and the app role. */
describe('tenant registry migration helpers', () => {
  const schema = `registry_${suffix()}`;
  const table = `${schema}.tenants`;
  let owner: Client;
  let app: Client;
  let ownerRole: string;
  let tenantA: string;
  let tenantB: string;

  const rows = async (c: Client, sql: string, params: unknown[] = []) =>
    (await c.query(sql, params)).rows;
  const shapeOf = async (name: string) => rows(owner, SHAPE, [name]);
  const securityOf = async () => rows(owner, SECURITY, [table]);
  const tenantsSeenBy = async (c: Client, where = '', params: unknown[] = []) =>
    (await rows(c, `SELECT slug FROM ${table} ${where} ORDER BY slug`, params)).map(
      (r: { slug: string }) => r.slug,
    );

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    ownerRole = (await rows(owner, 'SELECT current_user AS role'))[0].role;
    // The project's own registry reads its setting without a sub-select (migration 1764000013600).
    await createTenantRegistry(owner, { table, settingForm: 'plain' });
    tenantA = randomUUID();
    tenantB = randomUUID();
    await owner.query(
      `INSERT INTO ${table} (id, slug, name, status) VALUES ($1, 'a', 'A', 'active'), ($2, 'b', 'B', 'suspended')`,
      [tenantA, tenantB],
    );
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await owner.end();
    await app.end();
  });

  it('creates the columns, keys, checks and defaults of the tenancy.tenants the migrations make', async () => {
    const shape = await shapeOf(table);
    expect(shape.map((r: { key: string }) => r.key)).toEqual([
      'column created_at',
      'column id',
      'column name',
      'column slug',
      'column status',
      'constraint tenants_name_check',
      'constraint tenants_pkey',
      'constraint tenants_slug_check',
      'constraint tenants_slug_key',
      'constraint tenants_status_check',
    ]);
    expect(shape).toEqual(await shapeOf('tenancy.tenants'));
  });

  it('forces row-level security, grants the app role SELECT only, and makes its two policies', async () => {
    expect(
      await rows(
        owner,
        `SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced,
                has_schema_privilege('app_user', relnamespace, 'USAGE') AS usage,
                array(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE}'::text[]) p
                       WHERE has_table_privilege('app_user', oid, p)) AS privileges
           FROM pg_class WHERE oid = $1::regclass`,
        [table],
      ),
    ).toEqual([{ enabled: true, forced: true, usage: true, privileges: ['SELECT'] }]);
    const policies = `SELECT polname AS name, polcmd AS cmd, polpermissive AS permissive,
                             polroles::regrole[]::text AS roles, pg_get_expr(polqual, polrelid) AS using,
                             pg_get_expr(polwithcheck, polrelid) AS check
                        FROM pg_policy WHERE polrelid = $1::regclass ORDER BY 1`;
    const [repoSelfRead] = (await rows(owner, policies, ['tenancy.tenants'])).filter(
      (p: { name: string }) => p.name === 'tenant_self_read',
    );
    expect(await rows(owner, policies, [table])).toEqual([
      {
        name: 'tenant_registry_owner',
        cmd: '*',
        permissive: true,
        roles: `{${ownerRole}}`,
        using: 'true',
        check: 'true',
      },
      { ...repoSelfRead, name: 'tenant_self_read', roles: '{app_user}', cmd: 'r', check: null },
    ]);
  });

  it("lets the app role read its own tenant's row and no other", async () => {
    await inTenant(app, tenantA, async () => {
      expect(await tenantsSeenBy(app)).toEqual(['a']);
      expect(await tenantsSeenBy(app, 'WHERE id = $1', [tenantB])).toEqual([]);
    });
    await inTenant(app, tenantB, async () =>
      expect(await rows(app, `SELECT id, status FROM ${table}`)).toEqual([
        { id: tenantB, status: 'suspended' },
      ]),
    );
  });

  it('shows the app role no row without a tenant in its context', async () => {
    expect(await tenantsSeenBy(app)).toEqual([]);
    await inTenant(app, null, async () => expect(await tenantsSeenBy(app)).toEqual([]));
  });

  it('refuses every write of the app role', async () => {
    await expect(
      inTenant(app, tenantA, () =>
        app.query(`UPDATE ${table} SET status = 'active' WHERE id = $1`, [tenantA]),
      ),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      app.query(`INSERT INTO ${table} (slug, name) VALUES ('x', 'X')`),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('lets the owner role read and write every row through its policy', async () => {
    expect(await tenantsSeenBy(owner)).toEqual(['a', 'b']);
    await owner.query(`UPDATE ${table} SET status = 'active' WHERE id = $1`, [tenantB]);
    expect(await rows(owner, `SELECT status FROM ${table} WHERE id = $1`, [tenantB])).toEqual([
      { status: 'active' },
    ]);
  });

  it('changes nothing when it runs again', async () => {
    const before = [await shapeOf(table), await securityOf(), await tenantsSeenBy(owner)];
    await createTenantRegistry(owner, { table, settingForm: 'plain' });
    expect([await shapeOf(table), await securityOf(), await tenantsSeenBy(owner)]).toEqual(before);
  });

  it('refuses the app role as the owner role', async () => {
    await expect(createTenantRegistry(owner, { table, ownerRole: 'app_user' })).rejects.toThrow(
      /owner role and the application role are both "app_user"/,
    );
  });

  it('passes the registry check, which names each misconfiguration and its fix', async () => {
    const check = () => checkTenantRegistry(owner, { appRole: 'app_user', table });
    expect(await check()).toEqual([]);
    await owner.query(`REVOKE SELECT ON ${table} FROM app_user`);
    expect(await check()).toEqual([
      {
        code: 'TENANT_REGISTRY_NOT_READABLE',
        relation: table,
        message: `the application role "app_user" may not read the tenant registry ${table}, so the status lookup of every request would fail; as the owner, GRANT SELECT ON ${table} TO app_user (createTenantRegistry() does)`,
      },
    ]);
    await owner.query(`REVOKE USAGE ON SCHEMA ${schema} FROM app_user`);
    expect((await check()).map((f) => f.message)).toEqual([
      expect.stringContaining(
        `as the owner, GRANT USAGE ON SCHEMA ${schema} TO app_user; GRANT SELECT ON ${table} TO app_user`,
      ),
    ]);
    await owner.query(`DROP POLICY tenant_self_read ON ${table}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
    await owner.query(`GRANT SELECT ON ${table} TO app_user`);
    expect(await check()).toEqual([
      {
        code: 'TENANT_REGISTRY_NO_POLICY',
        relation: table,
        message: expect.stringContaining(
          `row-level security on ${table} has no policy that lets the application role "app_user" read a row, so every tenant would be refused as unknown (401); as the owner, CREATE POLICY tenant_self_read ON ${table} FOR SELECT TO app_user USING (id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))`,
        ),
      },
    ]);
    await createTenantRegistry(owner, { table });
    expect(await check()).toEqual([]);
  });

  it('drops the table with its policies and grants, keeps the schema, and goes up again', async () => {
    await dropTenantRegistry(owner, { table });
    expect(await rows(owner, 'SELECT to_regclass($1) AS t', [table])).toEqual([{ t: null }]);
    expect(
      await rows(
        owner,
        `SELECT polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
        [schema],
      ),
    ).toEqual([]);
    expect(await checkTenantRegistry(owner, { table })).toEqual([
      expect.objectContaining({ code: 'TENANT_REGISTRY_MISSING', relation: table }),
    ]);
    expect(
      await rows(owner, 'SELECT nspname FROM pg_namespace WHERE nspname = $1', [schema]),
    ).toEqual([{ nspname: schema }]);
    await dropTenantRegistry(owner, { table });
    await createTenantRegistry(owner, { table });
    expect(await tenantsSeenBy(owner)).toEqual([]);
    expect(await checkTenantRegistry(owner, { table })).toEqual([]);
  });
});
