import { Client } from 'pg';
import { withCredentials } from '@app/dev-postgres';
import { connect, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp } from './fixtures/notes.app';
import { ensureNotesSchema } from './fixtures/notes.entities';

/** The module checks its own connection at start-up and refuses a role that would bypass RLS. */
describe('TenancyModule: start-up refusal', () => {
  let admin: Client;
  const bypassRole = `bypass_${suffix()}`;

  beforeAll(async () => {
    const owner = await connect('owner');
    await ensureNotesSchema(owner);
    await owner.end();
    admin = await connect('admin');
    await admin.query(`CREATE ROLE ${bypassRole} LOGIN BYPASSRLS PASSWORD 'bypass'`);
  });

  afterAll(async () => {
    await admin.query(`DROP ROLE ${bypassRole}`);
    await admin.end();
  });

  it('refuses to start as a superuser, naming the fix', async () => {
    await expect(createNotesApp({ databaseUrl: testUrl('adminUrl') })).rejects.toThrow(
      /refusing to start[\s\S]*APP_ROLE_SUPERUSER[\s\S]*NOSUPERUSER/,
    );
  });

  it('refuses to start as a BYPASSRLS role', async () => {
    const url = withCredentials(testUrl('appUrl'), { user: bypassRole, password: 'bypass' });
    await expect(createNotesApp({ databaseUrl: url })).rejects.toThrow(
      /APP_ROLE_BYPASSRLS[\s\S]*NOBYPASSRLS/,
    );
  });

  it('refuses to start as the owner of the tenant tables', async () => {
    await expect(createNotesApp({ databaseUrl: testUrl('ownerUrl') })).rejects.toThrow(
      /APP_ROLE_OWNS_TENANT_TABLE[\s\S]*lib_test\.notes/,
    );
  });

  it('refuses to start when the catalog check finds a tenant table without RLS', async () => {
    const owner = await connect('owner');
    const table = `lib_test.unprotected_${suffix()}`;
    try {
      await owner.query(
        `CREATE TABLE ${table} (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
      );
      await expect(createNotesApp({ databaseUrl: testUrl('appUrl') })).rejects.toThrow(
        new RegExp(`RLS_NOT_ENABLED\\] ${table}`),
      );
    } finally {
      await owner.query(`DROP TABLE ${table}`);
      await owner.end();
    }
  });

  it("starts anyway with startupCheck: 'warn' (documented as dangerous)", async () => {
    const app = await createNotesApp({
      databaseUrl: testUrl('adminUrl'),
      tenancy: { startupCheck: 'warn' },
    });
    await app.close();
  });

  it('starts as the application role', async () => {
    const app = await createNotesApp({ databaseUrl: testUrl('appUrl') });
    await app.close();
  });
});
