import { Client } from 'pg';
import { dropDatabase, prepareDatabase, defaultRoles } from '@app/dev-postgres';
import { migrateDown, migrateUp } from '../../migrations/run-migrations';
import { MIGRATIONS } from '../../migrations';
import { suffix } from '../support/db';
import { testUrl } from '../support/test-env';

/** Every migration goes up, down and up again, in a database of its own. */
describe('migrations', () => {
  const database = `tenancy_migrations_${suffix()}`;
  const appRole = `app_mig_${suffix()}`;
  let ownerUrl: string;
  const previousRole = process.env.APP_DB_ROLE;

  const snapshot = async () => {
    const c = new Client({ connectionString: ownerUrl });
    await c.connect();
    try {
      const r = await c.query(
        `SELECT n.nspname || '.' || c.relname AS rel, c.relkind::text AS kind
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname IN ('tenancy', 'support', 'sales') ORDER BY 1`,
      );
      const p = await c.query(
        `SELECT count(*)::int AS n FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('tenancy', 'support', 'sales')`,
      );
      const s = await c.query(
        `SELECT nspname FROM pg_namespace WHERE nspname IN ('tenancy', 'support', 'sales') ORDER BY 1`,
      );
      return { relations: r.rows, policies: p.rows[0].n, schemas: s.rows.map((x) => x.nspname) };
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    process.env.APP_DB_ROLE = appRole;
    const db = await prepareDatabase(testUrl('serverAdminUrl'), database, {
      ...defaultRoles(),
      app: appRole,
    });
    ownerUrl = db.ownerUrl;
  });

  afterAll(async () => {
    if (previousRole === undefined) delete process.env.APP_DB_ROLE;
    else process.env.APP_DB_ROLE = previousRole;
    await dropDatabase(testUrl('serverAdminUrl'), database);
    const admin = new Client({ connectionString: testUrl('serverAdminUrl') });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${appRole}`);
    await admin.end();
  });

  it('runs every migration up, all of them down, and up again to the same schema', async () => {
    expect(await migrateUp(ownerUrl)).toEqual(MIGRATIONS.map((m) => m.name));
    const up = await snapshot();
    expect(up.schemas).toEqual(['sales', 'support', 'tenancy']);
    expect(up.relations).toContainEqual({ rel: 'tenancy.tenants', kind: 'r' });
    expect(up.policies).toBeGreaterThan(0);

    expect(await migrateDown(ownerUrl)).toBe(MIGRATIONS.length);
    expect(await snapshot()).toEqual({ relations: [], policies: 0, schemas: [] });

    expect(await migrateUp(ownerUrl)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await snapshot()).toEqual(up);
  });

  it('creates a missing application role as LOGIN NOSUPERUSER NOBYPASSRLS', async () => {
    const admin = new Client({ connectionString: testUrl('serverAdminUrl') });
    await admin.connect();
    try {
      const r = await admin.query(
        `SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = $1`,
        [appRole],
      );
      expect(r.rows).toEqual([
        { rolcanlogin: true, rolsuper: false, rolbypassrls: false, rolcreaterole: false },
      ]);
    } finally {
      await admin.end();
    }
  });
});
