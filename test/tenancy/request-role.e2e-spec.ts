import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { checkTenancyCatalog, dropRequestRole, ensureRequestRole } from '@app/tenancy';
import { connect } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp } from './fixtures/notes.app';
import { get, notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

/**
 * `requestRoleFunction`: each tenant transaction runs as the role the function returns once the
 * settings are written (here: admins as a reader role that a RESTRICTIVE policy keeps away from
 * 'secret' notes), only for that transaction, on every send path; a missing function stops the
 * start-up, and a role the application role can become that bypasses RLS is a catalog finding.
 */
describe('TenancyModule requestRoleFunction', () => {
  let owner: Client;
  let admin: Client;
  let appRole: string;
  let reader: string;
  let tenant: NotesTenant;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    const setup = await notesSetup();
    owner = setup.owner;
    apps.push(setup.app);
    admin = await connect('admin');
    appRole = new URL(testUrl('appUrl')).username;
    reader = `${appRole}_lib_test_reader`;
    await ensureRequestRole(owner, reader, { appRole, tables: ['lib_test.notes'] });
    await owner.query(
      `CREATE POLICY notes_reader_no_secrets ON lib_test.notes AS RESTRICTIVE FOR SELECT
         TO "${reader}" USING (title NOT LIKE 'secret%')`,
    );
    await owner.query(`
      CREATE FUNCTION lib_test.request_role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT CASE current_setting('app.role', true) WHEN 'admin' THEN '${reader}' END
      $$`);
    await owner.query(`GRANT EXECUTE ON FUNCTION lib_test.request_role() TO "${appRole}"`);
    tenant = await notesTenant(owner, 'request-role', ['plain', 'secret plan', 'other']);
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await owner.query(`DROP FUNCTION lib_test.request_role()`);
    await owner.query(`DROP POLICY notes_reader_no_secrets ON lib_test.notes`);
    await dropRequestRole(owner, reader, { appRole, tables: ['lib_test.notes'] });
    await owner.end();
    await admin.end();
  });

  describe.each([
    ['serial', { pipeline: false, preparedSettings: false }],
    ['pipelined, prepared settings', { pipeline: true, preparedSettings: true }],
  ])('%s', (_name, mode) => {
    let app: INestApplication;

    beforeAll(async () => {
      app = await createNotesApp({
        databaseUrl: testUrl('appUrl'),
        poolSize: 1,
        pipeline: mode.pipeline,
        tenancy: {
          requestRoleFunction: 'lib_test.request_role',
          preparedSettings: mode.preparedSettings,
        },
      });
      apps.push(app);
    });

    it("runs an admin's transaction as the function's role, under that role's policies", async () => {
      const res = await get(app, '/notes/db-role', tenant.adminToken).expect(200);
      expect(res.body).toMatchObject({ dbRole: reader, notes: 2 });
    });

    it("runs a member's transaction as the application role (the function returned NULL)", async () => {
      const res = await get(app, '/notes/db-role', tenant.token).expect(200);
      expect(res.body).toMatchObject({ dbRole: appRole, notes: 3 });
    });

    it('ends the role with the transaction: the same connection serves the next request as itself', async () => {
      const first = await get(app, '/notes/db-role', tenant.adminToken).expect(200);
      const next = await get(app, '/notes/db-role', tenant.token).expect(200);
      expect(next.body).toEqual({ dbRole: appRole, pid: first.body.pid, notes: 3 });
      const again = await get(app, '/notes/db-role', tenant.adminToken).expect(200);
      expect(again.body).toEqual({ dbRole: reader, pid: first.body.pid, notes: 2 });
    });

    it('keeps the settings as written next to the role', async () => {
      const res = await get(app, '/notes/settings', tenant.adminToken).expect(200);
      expect(res.body).toMatchObject({ tenantId: tenant.id, userId: tenant.userId, role: 'admin' });
    });
  });

  it('fails closed when the function names a role the application role cannot become', async () => {
    await owner.query(`
      CREATE OR REPLACE FUNCTION lib_test.request_role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT CASE current_setting('app.role', true) WHEN 'admin' THEN 'pg_read_all_data' END
      $$`);
    try {
      const app = await createNotesApp({
        databaseUrl: testUrl('appUrl'),
        tenancy: { requestRoleFunction: 'lib_test.request_role' },
      });
      apps.push(app);
      const res = await get(app, '/notes/db-role', tenant.adminToken);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(res.body)).not.toContain('plain');
      await get(app, '/notes/db-role', tenant.token).expect(200);
    } finally {
      await owner.query(`
        CREATE OR REPLACE FUNCTION lib_test.request_role() RETURNS text LANGUAGE sql STABLE AS $$
          SELECT CASE current_setting('app.role', true) WHEN 'admin' THEN '${reader}' END
        $$`);
    }
  });

  it.each([
    ['lib_test.no_such_function', /REQUEST_ROLE_FUNCTION_UNUSABLE.*does not exist/],
    ['lib_test.request_role_int', /REQUEST_ROLE_FUNCTION_UNUSABLE.*returns integer, not text/],
    ['lib_test.request_role_locked', /REQUEST_ROLE_FUNCTION_UNUSABLE.*may not EXECUTE/],
  ])('refuses to start when requestRoleFunction %s is unusable', async (name, message) => {
    await owner.query(
      `CREATE FUNCTION lib_test.request_role_int() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
    );
    await owner.query(
      `CREATE FUNCTION lib_test.request_role_locked() RETURNS text LANGUAGE sql AS 'SELECT NULL'`,
    );
    await owner.query(`REVOKE ALL ON FUNCTION lib_test.request_role_locked() FROM PUBLIC`);
    try {
      await expect(
        createNotesApp({ databaseUrl: testUrl('appUrl'), tenancy: { requestRoleFunction: name } }),
      ).rejects.toThrow(message);
    } finally {
      await owner.query(`DROP FUNCTION lib_test.request_role_int()`);
      await owner.query(`DROP FUNCTION lib_test.request_role_locked()`);
    }
  });

  it('refuses to start while the application role inherits a request role (its policies would apply to every transaction)', async () => {
    const version = Number(
      (await admin.query(`SHOW server_version_num`)).rows[0].server_version_num,
    );
    const inherit =
      version >= 160000
        ? [
            `GRANT "${reader}" TO "${appRole}" WITH INHERIT TRUE`,
            `REVOKE "${reader}" FROM "${appRole}"`,
          ]
        : [`ALTER ROLE "${appRole}" INHERIT`, `ALTER ROLE "${appRole}" NOINHERIT`];
    const inherits = async () =>
      (await owner.query(`SELECT pg_has_role($1, $2, 'USAGE') AS yes`, [appRole, reader])).rows[0]
        .yes;
    expect(await inherits()).toBe(false);
    await admin.query(inherit[0]);
    try {
      expect(await inherits()).toBe(true);
      await expect(
        createNotesApp({
          databaseUrl: testUrl('appUrl'),
          tenancy: { requestRoleFunction: 'lib_test.request_role' },
        }),
      ).rejects.toThrow(new RegExp(`REQUEST_ROLE_INHERITED.*inherits "${reader}"`));
      if (version < 160000) {
        await expect(
          ensureRequestRole(owner, reader, { appRole, tables: ['lib_test.notes'] }),
        ).rejects.toThrow(/must be NOINHERIT/);
      }
    } finally {
      await admin.query(inherit[1]);
    }
    expect(await inherits()).toBe(false);
    const app = await createNotesApp({
      databaseUrl: testUrl('appUrl'),
      tenancy: { requestRoleFunction: 'lib_test.request_role' },
    });
    apps.push(app);
  });

  it('reports a role the application role can become that has BYPASSRLS or is a superuser', async () => {
    const bypass = `${appRole}_lib_test_bypass`;
    await admin.query(`CREATE ROLE "${bypass}" NOLOGIN BYPASSRLS`);
    try {
      await admin.query(`GRANT "${bypass}" TO "${appRole}"`);
      const found = await checkTenancyCatalog(owner, { appRole, schemas: ['lib_test'] });
      expect(found.filter((f) => f.code.startsWith('APP_ROLE'))).toEqual([
        {
          code: 'APP_ROLE_BYPASSRLS',
          message: `the application role "${appRole}" can become "${bypass}" (SET ROLE), which has BYPASSRLS; REVOKE ${bypass} FROM ${appRole}, or ALTER ROLE ${bypass} NOBYPASSRLS`,
        },
      ]);
      await admin.query(`ALTER ROLE "${bypass}" NOBYPASSRLS SUPERUSER`);
      const again = await checkTenancyCatalog(owner, { appRole, schemas: ['lib_test'] });
      expect(again.filter((f) => f.code.startsWith('APP_ROLE')).map((f) => f.code)).toEqual([
        'APP_ROLE_SUPERUSER',
      ]);
      await expect(createNotesApp({ databaseUrl: testUrl('appUrl') })).rejects.toThrow(
        /APP_ROLE_SUPERUSER.*can become/,
      );
    } finally {
      await admin.query(`DROP ROLE "${bypass}"`);
    }
    const after = await checkTenancyCatalog(owner, { appRole, schemas: ['lib_test'] });
    expect(after.filter((f) => f.code.startsWith('APP_ROLE'))).toEqual([]);
  });
});
