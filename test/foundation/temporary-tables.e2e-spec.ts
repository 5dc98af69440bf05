import {
  defaultRoles,
  dropDatabase,
  prepareDatabase,
  withClient,
  withCredentials,
} from '@app/dev-postgres';
import { ensureAppRole, TenancyConfigurationError } from '@app/tenancy';
import { suffix } from '../support/db';
import { testUrl } from '../support/test-env';

/**
 * A temporary table lives as long as its connection, so the app role must not create any: the
 * migration helper and the dev set-up both take TEMPORARY from PUBLIC, which PostgreSQL grants it.
 */
describe('no temporary tables for the application role', () => {
  const database = `tenancy_temp_${suffix()}`;
  const roles = defaultRoles();
  const ownerOnly = `{=c/${roles.owner},${roles.owner}=CTc/${roles.owner}}`;
  const url = (who: 'ownerUrl' | 'appUrl') => withCredentials(testUrl(who), { database });

  const databaseAcl = () =>
    withClient(testUrl('serverAdminUrl'), async (c) => {
      const r = await c.query(`SELECT datacl::text AS acl FROM pg_database WHERE datname = $1`, [
        database,
      ]);
      return r.rows[0].acl as string | null;
    });

  const createTempTable = (who: 'ownerUrl' | 'appUrl') =>
    withClient(url(who), (c) => c.query('CREATE TEMP TABLE x (a int)')).then(
      () => 'created',
      (e: { code?: string }) => `error ${e.code}`,
    );

  beforeEach(async () => {
    await withClient(testUrl('serverAdminUrl'), (c) =>
      c.query(`CREATE DATABASE ${database} OWNER ${roles.owner}`),
    );
  });
  afterEach(async () => {
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it('ensureAppRole, run by the owner, leaves TEMPORARY to the owner alone', async () => {
    expect(await databaseAcl()).toBeNull();
    expect(await createTempTable('appUrl')).toBe('created');
    await withClient(url('ownerUrl'), (c) => ensureAppRole(c, roles.app));
    expect(await databaseAcl()).toBe(ownerOnly);
    expect(await createTempTable('appUrl')).toBe('error 42501');
    expect(await createTempTable('ownerUrl')).toBe('created');
  });

  it('ensureAppRole, run by a role that cannot revoke TEMPORARY, throws naming the fix', async () => {
    await withClient(url('appUrl'), async (c) => {
      await expect(ensureAppRole(c, roles.app)).rejects.toThrow(
        new TenancyConfigurationError(
          `the application role "${roles.app}" can still create temporary tables in database ${database}; run this as the database owner, or have the owner run REVOKE TEMPORARY ON DATABASE ${database} FROM PUBLIC, "${roles.app}" (and revoke TEMPORARY from any role "${roles.app}" inherits)`,
        ),
      );
    });
    expect(await databaseAcl()).toBe(`{=Tc/${roles.owner},${roles.owner}=CTc/${roles.owner}}`);
    expect(await createTempTable('appUrl')).toBe('created');
  });

  it('prepareDatabase brings an existing database to the same state', async () => {
    await prepareDatabase(testUrl('serverAdminUrl'), database, roles);
    expect(await databaseAcl()).toBe(ownerOnly);
    expect(await createTempTable('appUrl')).toBe('error 42501');
  });
});
