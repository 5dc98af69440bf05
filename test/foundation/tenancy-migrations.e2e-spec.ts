import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  enableTenantRls,
  ensureAppRole,
  grantSchemaUsage,
  TenancyConfigurationError,
  tenancyMigrations,
} from '@app/tenancy';
import { connect, suffix } from '../support/db';

/**
 * tenancyMigrations() binds the helpers to an app role not named app_user, a tenant column and a
 * setting of its own; a helper run before that role exists says how to fix it.
 */
describe('tenancyMigrations: the helpers bound to one app role', () => {
  const schema = `kit_${suffix()}`;
  const appRole = `kit_app_${suffix()}`;
  const missingRole = `kit_missing_${suffix()}`;
  const tenancy = tenancyMigrations({
    appRole,
    tenantColumn: 'org_id',
    settings: { tenantId: 'kit.org_id' },
  });
  let owner: Client;
  let admin: Client;
  let ownerRole: string;

  const rows = async (c: Client, sql: string, params: unknown[] = []) =>
    (await c.query(sql, params)).rows;

  /** Runs `fn` in a transaction that is rolled back, as a failing migration's would be. */
  const rolledBack = async (fn: () => Promise<unknown>) => {
    await owner.query('BEGIN');
    try {
      return await fn();
    } finally {
      await owner.query('ROLLBACK');
    }
  };

  /** `sql` as the bound app role, with `orgId` in the bound setting (as a superuser, SET ROLE). */
  const asApp = async (orgId: string, sql: string) => {
    await admin.query('BEGIN');
    try {
      await admin.query(`SET LOCAL ROLE ${appRole}`);
      await admin.query(`SELECT set_config('kit.org_id', $1, true)`, [orgId]);
      return (await admin.query(sql)).rows;
    } finally {
      await admin.query('ROLLBACK');
    }
  };

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    ownerRole = (await rows(owner, 'SELECT current_user AS role'))[0].role;
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`
      CREATE TABLE ${schema}.projects (
        org_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), title text NOT NULL,
        PRIMARY KEY (org_id, id))`);
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    for (const role of [appRole, missingRole]) {
      const exists = await rows(admin, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.length) {
        await admin.query(`DROP OWNED BY ${role}`);
        await admin.query(`DROP ROLE ${role}`);
      }
    }
    await admin.end();
  });

  it('says to run ensureAppRole() or set appRole when a helper grants to a role that does not exist', async () => {
    const error = await rolledBack(() =>
      tenancy.enableTenantRls(owner, `${schema}.projects`).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(TenancyConfigurationError);
    expect((error as Error).message).toBe(
      `the application role "${appRole}" does not exist (PostgreSQL: role "${appRole}" does not exist): create it in an earlier migration with ensureAppRole() (the role running migrations needs CREATEROLE), or pass the role the app connects as in the appRole option (tenancyMigrations({ appRole }) sets it once for every helper)`,
    );
  });

  it('says the same from the standalone helpers', async () => {
    for (const run of [
      () => grantSchemaUsage(owner, [schema], missingRole),
      () =>
        enableTenantRls(owner, `${schema}.projects`, {
          appRole: missingRole,
          tenantColumn: 'org_id',
        }),
    ]) {
      await expect(rolledBack(run)).rejects.toThrow(
        new RegExp(`^the application role "${missingRole}" does not exist .*ensureAppRole\\(\\)`),
      );
    }
  });

  it('refuses to create the app role without CREATEROLE, naming the fix, before changing anything', async () => {
    const app = await connect('app');
    try {
      await expect(ensureAppRole(app, missingRole)).rejects.toThrow(
        `the application role "${missingRole}" does not exist and the role running this migration ("app_user") may not create roles: as a superuser, ALTER ROLE "app_user" CREATEROLE, or create it yourself: CREATE ROLE "${missingRole}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`,
      );
    } finally {
      await app.end();
    }
    expect(await rows(admin, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [missingRole])).toEqual(
      [],
    );
  });

  it('creates the bound app role as LOGIN NOSUPERUSER NOBYPASSRLS, without a password', async () => {
    await tenancy.ensureAppRole(owner);
    expect(
      await rows(
        admin,
        `SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit,
                rolpassword IS NULL AS "noPassword"
           FROM pg_authid WHERE rolname = $1`,
        [appRole],
      ),
    ).toEqual([
      {
        rolcanlogin: true,
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolinherit: false,
        noPassword: true,
      },
    ]);
  });

  it('grants to the bound role and guards the bound column with the bound setting', async () => {
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    await tenancy.grantSchemaUsage(owner, [schema]);
    await tenancy.enableTenantRls(owner, `${schema}.projects`);
    await owner.query('BEGIN');
    for (const [org, title] of [
      [orgA, 'a1'],
      [orgB, 'b1'],
    ]) {
      await owner.query(`SELECT set_config('kit.org_id', $1, true)`, [org]);
      await owner.query(`INSERT INTO ${schema}.projects (org_id, title) VALUES ($1, $2)`, [
        org,
        title,
      ]);
    }
    await owner.query('COMMIT');
    expect(await asApp(orgA, `SELECT title FROM ${schema}.projects`)).toEqual([{ title: 'a1' }]);
    expect(await asApp(orgB, `SELECT title FROM ${schema}.projects`)).toEqual([{ title: 'b1' }]);
    expect(
      await rows(
        owner,
        `SELECT array(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE}'::text[]) p
                       WHERE has_table_privilege($1, $2::regclass, p)) AS privileges`,
        [appRole, `${schema}.projects`],
      ),
    ).toEqual([{ privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] }]);
  });

  it('lets options passed to a call override the bound ones', async () => {
    await owner.query(`
      CREATE TABLE ${schema}.labels (
        org_id uuid NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid(), PRIMARY KEY (org_id, id))`);
    await tenancy.enableTenantRls(owner, `${schema}.labels`, { privileges: ['SELECT'] });
    expect(
      await rows(
        owner,
        `SELECT array(SELECT p FROM unnest('{SELECT,INSERT,UPDATE,DELETE}'::text[]) p
                       WHERE has_table_privilege($1, $2::regclass, p)) AS privileges`,
        [appRole, `${schema}.labels`],
      ),
    ).toEqual([{ privileges: ['SELECT'] }]);
  });

  it('makes the tenant registry for the bound app role, owner role and setting', async () => {
    const bound = tenancyMigrations({
      appRole,
      ownerRole,
      settings: { tenantId: 'kit.org_id' },
    });
    const table = `${schema}.tenants`;
    await bound.createTenantRegistry(owner, { table });
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    await owner.query(
      `INSERT INTO ${table} (id, slug, name) VALUES ($1, 'kit-a', 'A'), ($2, 'kit-b', 'B')`,
      [orgA, orgB],
    );
    expect(await asApp(orgA, `SELECT slug FROM ${table}`)).toEqual([{ slug: 'kit-a' }]);
    expect(
      await rows(
        owner,
        `SELECT polname AS name, polroles::regrole[]::text AS roles FROM pg_policy
          WHERE polrelid = $1::regclass ORDER BY 1`,
        [table],
      ),
    ).toEqual([
      { name: 'tenant_registry_owner', roles: `{${ownerRole}}` },
      { name: 'tenant_self_read', roles: `{${appRole}}` },
    ]);
    await bound.dropTenantRegistry(owner, { table });
  });

  it('makes the bound owner role the only writer of shared rows', async () => {
    const writer = 'tenancy_platform';
    await owner.query(`
      CREATE TABLE ${schema}.articles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), org_id uuid, title text NOT NULL)`);
    await tenancyMigrations({ appRole, ownerRole: writer, tenantColumn: 'org_id' }).enableSharedRls(
      owner,
      `${schema}.articles`,
    );
    const [{ check }] = await rows(
      owner,
      `SELECT pg_get_expr(polwithcheck, polrelid) AS check FROM pg_policy
        WHERE polrelid = $1::regclass AND polname = 'tenant_write_guard_insert'`,
      [`${schema}.articles`],
    );
    expect(check).toContain(`org_id IS NULL) AND (CURRENT_USER = '${writer}'::name)`);
  });

  it('binds the policy expressions to the bound settings', () => {
    expect(tenancy.currentTenantExpression()).toBe(
      `(SELECT NULLIF(current_setting('kit.org_id', true), '')::uuid)`,
    );
    expect(tenancy.currentUserExpression()).toBe(
      `(SELECT NULLIF(current_setting('app.user_id', true), '')::uuid)`,
    );
  });

  it('refuses, when made, an owner role that is the app role and names that are not safe', () => {
    expect(() => tenancyMigrations({ appRole: 'api', ownerRole: 'api' })).toThrow(
      TenancyConfigurationError,
    );
    expect(() => tenancyMigrations({ appRole: 'Api; DROP' })).toThrow(/not a safe SQL identifier/);
    expect(() => tenancyMigrations({ settings: { tenantId: 'tenant' } })).toThrow(
      /not a valid setting name/,
    );
  });
});
