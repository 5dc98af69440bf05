import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import {
  dropDatabase,
  PreparedDatabase,
  prepareDatabase,
  withCredentials,
} from '@app/dev-postgres';
import { signToken } from '@app/demo-kit';
import { createTenantRegistry } from '@app/tenancy';
import { connect, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp, NOTES_SECRET } from './fixtures/notes.app';
import { ensureNotesSchema } from './fixtures/notes.entities';
import { get } from './fixtures/notes.harness';

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

/**
 * With the default tenant status lookup, the start-up check finds a tenant registry the app's role
 * cannot read, and names the fix; at run time a missing grant is a logged 500, not a 403. Runs in a
 * database of its own, whose registry each test breaks and mends.
 */
describe('TenancyModule: start-up check of the tenant registry', () => {
  const database = `registry_${suffix()}`;
  let db: PreparedDatabase;
  let owner: Client;

  /** A member token of a tenant that need not exist. */
  const token = () =>
    signToken(NOTES_SECRET, { tenantId: randomUUID(), userId: randomUUID(), role: 'member' });

  /** Runs `fn` with `breakIt` applied to the registry, then makes the registry whole again. */
  const broken = async (breakIt: string, fn: () => Promise<void>) => {
    await owner.query(breakIt);
    try {
      await fn();
    } finally {
      await createTenantRegistry(owner);
    }
  };

  beforeAll(async () => {
    db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
  });

  afterAll(async () => {
    await owner.end();
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it('refuses to start without a registry, naming createTenantRegistry()', async () => {
    await expect(createNotesApp({ databaseUrl: db.appUrl })).rejects.toThrow(
      /refusing to start[\s\S]*\[TENANT_REGISTRY_MISSING\] the tenant registry tenancy\.tenants does not exist[^\n]*createTenantRegistry\(\)/,
    );
  });

  it('starts once createTenantRegistry() has made it', async () => {
    await createTenantRegistry(owner);
    const app = await createNotesApp({ databaseUrl: db.appUrl });
    await app.close();
  });

  it('refuses to start when the app role may not read it, naming the grant', async () => {
    await broken('REVOKE SELECT ON tenancy.tenants FROM app_user', async () => {
      await expect(createNotesApp({ databaseUrl: db.appUrl })).rejects.toThrow(
        /\[TENANT_REGISTRY_NOT_READABLE\] the application role "app_user" may not read the tenant registry tenancy\.tenants[^\n]*GRANT SELECT ON tenancy\.tenants TO app_user/,
      );
    });
  });

  it('refuses to start when the app role may not use its schema, naming the grant', async () => {
    await broken('REVOKE USAGE ON SCHEMA tenancy FROM app_user', async () => {
      await expect(createNotesApp({ databaseUrl: db.appUrl })).rejects.toThrow(
        /\[TENANT_REGISTRY_NOT_READABLE\][^\n]*GRANT USAGE ON SCHEMA tenancy TO app_user/,
      );
    });
  });

  it("refuses to start when no policy lets the app role read its tenant's row, naming the policy", async () => {
    await broken('DROP POLICY tenant_self_read ON tenancy.tenants', async () => {
      await expect(createNotesApp({ databaseUrl: db.appUrl })).rejects.toThrow(
        /\[TENANT_REGISTRY_NO_POLICY\][^\n]*CREATE POLICY tenant_self_read ON tenancy\.tenants FOR SELECT TO app_user/,
      );
    });
  });

  it('leaves the registry alone when tenantStatus.lookup replaces the default lookup', async () => {
    await broken('DROP TABLE tenancy.tenants', async () => {
      const app = await createNotesApp({
        databaseUrl: db.appUrl,
        tenancy: { tenantStatus: { lookup: async () => 'active' } },
      });
      await app.close();
    });
  });

  for (const [breakIt, logged] of [
    [
      'REVOKE SELECT ON tenancy.tenants FROM app_user',
      /may not read the tenant registry tenancy\.tenants \(PostgreSQL: permission denied for table tenants\)[^\n]*GRANT SELECT ON tenancy\.tenants TO the role the app connects as/,
    ],
    [
      'DROP TABLE tenancy.tenants',
      /the tenant registry tenancy\.tenants does not exist[^\n]*createTenantRegistry\(\)/,
    ],
    [
      'DROP POLICY tenant_self_read ON tenancy.tenants',
      /no policy that lets the application role "app_user" read a row[^\n]*CREATE POLICY tenant_self_read ON tenancy\.tenants FOR SELECT TO app_user/,
    ],
  ] as const) {
    it(`with startupCheck 'warn', answers a request 500 and logs the fix after ${breakIt}`, async () => {
      await broken(breakIt, async () => {
        const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
        const app = await createNotesApp({
          databaseUrl: db.appUrl,
          tenancy: { startupCheck: 'warn' },
        });
        try {
          const res = await get(app, '/notes/noop', token());
          expect([res.status, res.body]).toEqual([
            500,
            {
              statusCode: 500,
              message: 'server misconfiguration: the server log says what to fix',
              error: 'Internal Server Error',
            },
          ]);
          expect(errors.mock.calls.map(([m]) => String(m)).filter((m) => logged.test(m))).toEqual([
            expect.stringMatching(/^TenancyConfigurationError: /),
          ]);
        } finally {
          errors.mockRestore();
          await app.close();
        }
      });
    });
  }
});
