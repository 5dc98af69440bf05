import { DataSource } from 'typeorm';
import {
  defaultRoles,
  dropDatabase,
  prepareDatabase,
  PreparedDatabase,
  withClient,
} from '@app/dev-postgres';
import { migrateDown, migrateUp } from '../../migrations/run-migrations';
import { ownerDataSourceOptions } from '../../migrations/data-source.options';
import { MIGRATIONS } from '../../migrations';
import { SharedKeysAndTempTables1764000011000 } from '../../migrations/1764000011000-SharedKeysAndTempTables';
import { suffix } from '../support/db';
import { testUrl } from '../support/test-env';

/** Schemas a migration may create objects in: everything but PostgreSQL's own. */
const USER_SCHEMA = (column: string) => `${column} !~ '^(pg_|information_schema$)'`;

/**
 * One query per kind of catalog object a migration can create, change or grant; each row's `key`
 * names the object and the other columns are what must come back exactly after a down().
 * Roles are server-wide and down() leaves them on purpose (other databases may use them), so roles
 * and role memberships are not compared; what a role was granted in this database is (ACLs).
 */
const CATALOG: Record<string, string> = {
  schemas: `
    SELECT n.nspname AS key, pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl
      FROM pg_namespace n WHERE ${USER_SCHEMA('n.nspname')}`,
  relations: `
    SELECT format('%I.%I', n.nspname, c.relname) AS key, c.relkind::text AS kind,
           pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl,
           c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
           c.relpersistence::text AS persistence, c.reloptions::text AS options,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_SCHEMA('n.nspname')}`,
  columns: `
    SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) AS key,
           format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
           pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity::text AS identity,
           a.attgenerated::text AS generated, a.attcollation::regcollation::text AS collation,
           a.attacl::text AS acl
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE ${USER_SCHEMA('n.nspname')} AND a.attnum > 0 AND NOT a.attisdropped
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')`,
  constraints: `
    SELECT format('%s %I',
             CASE WHEN con.conrelid <> 0 THEN con.conrelid::regclass::text
                  ELSE con.contypid::regtype::text END,
             con.conname) AS key,
           pg_get_constraintdef(con.oid) AS def
      FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
     WHERE ${USER_SCHEMA('n.nspname')}`,
  indexes: `
    SELECT format('%I.%I', n.nspname, c.relname) AS key, pg_get_indexdef(i.indexrelid) AS def
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_SCHEMA('n.nspname')}`,
  policies: `
    SELECT format('%s %I', p.polrelid::regclass, p.polname) AS key, p.polcmd::text AS cmd,
           p.polpermissive AS permissive,
           ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END
                   FROM unnest(p.polroles) AS r)::text AS roles,
           pg_get_expr(p.polqual, p.polrelid) AS using_expr,
           pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
      FROM pg_policy p`,
  triggers: `
    SELECT format('%s %I', t.tgrelid::regclass, t.tgname) AS key,
           pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled
      FROM pg_trigger t WHERE NOT t.tgisinternal`,
  functions: `
    SELECT p.oid::regprocedure::text AS key, pg_get_userbyid(p.proowner) AS owner,
           p.proacl::text AS acl,
           CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END AS def
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${USER_SCHEMA('n.nspname')}`,
  types: `
    SELECT t.oid::regtype::text AS key, t.typtype::text AS kind,
           pg_get_userbyid(t.typowner) AS owner, t.typacl::text AS acl,
           (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
              FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE ${USER_SCHEMA('n.nspname')}`,
  defaultPrivileges: `
    SELECT format('for %s in %s on %s', d.defaclrole::regrole,
             CASE WHEN d.defaclnamespace <> 0 THEN d.defaclnamespace::regnamespace::text
                  ELSE 'every schema' END,
             d.defaclobjtype) AS key,
           d.defaclacl::text AS acl
      FROM pg_default_acl d`,
  database: `
    SELECT 'acl' AS key, datacl::text AS value FROM pg_database WHERE datname = current_database()
    UNION ALL
    SELECT format('settings for %s', CASE WHEN s.setrole = 0 THEN 'everyone'
                                          ELSE s.setrole::regrole::text END),
           s.setconfig::text
      FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
     WHERE d.datname = current_database()`,
  extensions: `
    SELECT extname AS key, extversion AS version, extnamespace::regnamespace::text AS schema
      FROM pg_extension`,
  executedMigrations: `SELECT name AS key FROM public.typeorm_migrations`,
};

/** Every catalog object by kind, each by its key. */
type Catalog = Record<string, Map<string, Record<string, unknown>>>;

function catalogOf(adminUrl: string): Promise<Catalog> {
  return withClient(adminUrl, async (client) => {
    const catalog: Catalog = {};
    for (const [kind, sql] of Object.entries(CATALOG)) {
      const rows = (await client.query<{ key: string }>(sql)).rows;
      catalog[kind] = new Map(rows.map(({ key, ...rest }) => [key, rest]));
      expect(catalog[kind].size).toBe(rows.length);
    }
    return catalog;
  });
}

const show = (value: unknown) =>
  typeof value === 'string' ? value.replace(/\s+/g, ' ') : JSON.stringify(value);

const showRow = (row: Record<string, unknown>) =>
  Object.entries(row)
    .filter(([, value]) => value !== null)
    .map(([field, value]) => `${field}=${show(value)}`)
    .join(', ');

/** `expected` and `actual` cut to where they differ, with some context either side. */
function whereTheyDiffer(expected: string, actual: string): [string, string] {
  const context = 40;
  let start = 0;
  while (start < expected.length && expected[start] === actual[start]) start++;
  let end = 0;
  while (
    end < Math.min(expected.length, actual.length) - start &&
    expected.at(-1 - end) === actual.at(-1 - end)
  )
    end++;
  const from = Math.max(0, start - context);
  const cut = (s: string) =>
    `${from ? '…' : ''}${s.slice(from, Math.max(from, s.length - end + context))}${end > context ? '…' : ''}`;
  return [cut(expected), cut(actual)];
}

/** The differences between two catalogs, one readable line per object and field. */
function catalogDiff(expected: Catalog, actual: Catalog): string[] {
  const lines: string[] = [];
  for (const kind of Object.keys(CATALOG)) {
    const [was, is] = [expected[kind], actual[kind]];
    for (const [key, before] of was) {
      const after = is.get(key);
      if (!after) {
        lines.push(`${kind} ${key} is missing (was ${showRow(before)})`);
        continue;
      }
      for (const field of Object.keys(before)) {
        if (JSON.stringify(before[field]) === JSON.stringify(after[field])) continue;
        const [e, a] = whereTheyDiffer(show(before[field]), show(after[field]));
        lines.push(`${kind} ${key}: ${field} is ${a}, expected ${e}`);
      }
    }
    for (const [key, value] of is) {
      if (!was.has(key)) lines.push(`${kind} ${key} is left over: ${showRow(value)}`);
    }
  }
  return lines;
}

/**
 * Runs the pending ones among the first `count` migrations as the owner and returns their names;
 * with 0 it only creates TypeORM's migrations table, so that the first catalog has it too.
 */
async function migrateFirst(ownerUrl: string, count: number): Promise<string[]> {
  const options = { ...ownerDataSourceOptions(ownerUrl), migrations: MIGRATIONS.slice(0, count) };
  const ds = await new DataSource(options).initialize();
  try {
    return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** Every migration goes up and down one at a time, in a database of its own. */
describe('migrations', () => {
  const database = `tenancy_migrations_${suffix()}`;
  const roleDatabase = `${database}_role`;
  const appRole = `app_mig_${suffix()}`;
  const createdRole = `app_new_${suffix()}`;
  const previousRole = process.env.APP_DB_ROLE;
  const roles = { ...defaultRoles(), app: appRole };
  let db: PreparedDatabase;

  const roleAttributes = (role: string) =>
    withClient(testUrl('serverAdminUrl'), async (admin) => {
      const r = await admin.query(
        `SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit
           FROM pg_roles WHERE rolname = $1`,
        [role],
      );
      return r.rows;
    });

  beforeAll(async () => {
    process.env.APP_DB_ROLE = appRole;
    db = await prepareDatabase(testUrl('serverAdminUrl'), database, roles);
  });

  afterAll(async () => {
    if (previousRole === undefined) delete process.env.APP_DB_ROLE;
    else process.env.APP_DB_ROLE = previousRole;
    await dropDatabase(testUrl('serverAdminUrl'), database);
    await dropDatabase(testUrl('serverAdminUrl'), roleDatabase);
    await withClient(testUrl('serverAdminUrl'), async (admin) => {
      await admin.query(`DROP ROLE IF EXISTS ${appRole}`);
      await admin.query(`DROP ROLE IF EXISTS ${createdRole}`);
    });
  });

  it('reverts each migration to the exact catalog before its up(), and goes up again to the same catalog', async () => {
    expect(await migrateFirst(db.ownerUrl, 0)).toEqual([]);
    const before = [await catalogOf(db.adminUrl)];
    for (const [i, migration] of MIGRATIONS.entries()) {
      expect(await migrateFirst(db.ownerUrl, i + 1)).toEqual([migration.name]);
      before.push(await catalogOf(db.adminUrl));
    }
    const allUp = before[MIGRATIONS.length];
    expect([...allUp.schemas.keys()]).toEqual(
      expect.arrayContaining(['sales', 'support', 'tenancy']),
    );
    const emptyKinds = Object.keys(CATALOG).filter((kind) => !allUp[kind].size);
    expect(emptyKinds.filter((kind) => kind !== 'defaultPrivileges')).toEqual([]);

    const differences: string[] = [];
    /** A difference that later downs carry along is reported once, after the down() that made it. */
    const seen = new Set<string>();
    const compare = (step: string, expected: Catalog, actual: Catalog) => {
      for (const line of catalogDiff(expected, actual)) {
        if (!seen.has(line)) differences.push(`${step}: ${line}`);
        seen.add(line);
      }
    };
    for (let i = MIGRATIONS.length - 1; i >= 0; i--) {
      expect(await migrateDown(db.ownerUrl, 1)).toBe(1);
      compare(`after ${MIGRATIONS[i].name}.down()`, before[i], await catalogOf(db.adminUrl));
    }
    expect(await migrateUp(db.ownerUrl)).toEqual(MIGRATIONS.map((m) => m.name));
    compare('all up again', allUp, await catalogOf(db.adminUrl));

    expect(differences).toEqual([]);
  });

  it("brings a database migrated before SharedKeysAndTempTables1764000011000 to a fresh database's catalog", async () => {
    const fresh = await catalogOf(db.adminUrl);
    await withClient(db.adminUrl, async (admin) => {
      await admin.query(`REVOKE INSERT, UPDATE ON support.kb_articles FROM ${appRole}`);
      await admin.query(`GRANT INSERT, UPDATE ON support.kb_articles TO ${appRole}`);
      await admin.query(`GRANT TEMPORARY ON DATABASE ${database} TO PUBLIC`);
    });
    expect(catalogDiff(fresh, await catalogOf(db.adminUrl))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^relations support\\.kb_articles: acl is .*,${appRole}=arwd/${roles.owner}}, expected .*,${appRole}=rd/${roles.owner}}$`,
        ),
      ),
      ...['tenant_id', 'title', 'body', 'created_at', 'updated_at'].map(
        (column) =>
          `columns support.kb_articles.${column}: acl is null, expected {${appRole}=aw/${roles.owner}}`,
      ),
      expect.stringMatching(
        new RegExp(
          `^database acl: value is \\{=Tc/${roles.owner},.*, expected \\{=c/${roles.owner},`,
        ),
      ),
    ]);
    const ds = await new DataSource(ownerDataSourceOptions(db.ownerUrl)).initialize();
    const runner = ds.createQueryRunner();
    try {
      await new SharedKeysAndTempTables1764000011000().up(runner);
    } finally {
      await runner.release();
      await ds.destroy();
    }
    expect(catalogDiff(fresh, await catalogOf(db.adminUrl))).toEqual([]);
  });

  it('creates a missing application role as LOGIN NOSUPERUSER NOBYPASSRLS', async () => {
    const fresh = await prepareDatabase(testUrl('serverAdminUrl'), roleDatabase, roles);
    expect(await roleAttributes(createdRole)).toEqual([]);
    process.env.APP_DB_ROLE = createdRole;
    try {
      expect(await migrateFirst(fresh.ownerUrl, 1)).toEqual([MIGRATIONS[0].name]);
    } finally {
      process.env.APP_DB_ROLE = appRole;
    }
    expect(await roleAttributes(createdRole)).toEqual([
      {
        rolcanlogin: true,
        rolsuper: false,
        rolbypassrls: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolinherit: false,
      },
    ]);
  });
});
