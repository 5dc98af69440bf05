import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  CatalogFinding,
  checkTenancyCatalog,
  enableTenantRls,
  tenancyMigrations,
} from '@app/tenancy';
import {
  CITUS_DISTRIBUTED_TABLES,
  CITUS_REFERENCE_TABLES,
} from '../../migrations/1764000014000-DistributeForCitus';
import { connect, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { cli } from '../support/cli';

const PROJECT_SCHEMAS = ['tenancy', 'support', 'sales'];

/** The `CITUS_*` findings only. */
const citusOnly = (findings: CatalogFinding[]) =>
  findings.filter((f) => f.code.startsWith('CITUS_'));

/** The tenant guard without a sub-select: the form Citus accepts in a policy. */
const GUARD = `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`;

describe('the catalog check with the Citus profile', () => {
  let owner: Client;

  beforeAll(async () => {
    owner = await connect('owner');
  });
  afterAll(async () => {
    await owner.end();
  });

  describe("on the project's migrated schema", () => {
    it('adds no finding of the tenancy rules, and the same findings without the profile', async () => {
      const findings = await checkTenancyCatalog(owner, {
        schemas: PROJECT_SCHEMAS,
        profile: 'citus',
      });
      expect(findings.filter((f) => !f.code.startsWith('CITUS_'))).toEqual([]);
      expect(await checkTenancyCatalog(owner, { schemas: PROJECT_SCHEMAS })).toEqual([]);
    });

    it('passes: the schema has nothing Citus refuses (no sub-select in a policy, no trigger Citus cannot run, no SET NULL key)', async () => {
      const findings = await checkTenancyCatalog(owner, {
        schemas: PROJECT_SCHEMAS,
        profile: 'citus',
      });
      // Migrations 1764000013500 (reporting chains instead of a closure kept by triggers, the deals
      // policies without sub-selects), 1764000013600 (every policy reads its settings without a
      // sub-select; the assignee key without SET NULL) and 1764000013700 (the shared knowledge
      // base, a reference table on Citus, out of the audit trail). The audit trail's trigger on
      // the distributed tables is accepted: it writes only into the colocated audit log.
      expect(findings).toEqual([]);
    });

    it("plans the migration's tables: the command line prints the same tables, referenced ones first", async () => {
      const run = await cli([
        'check',
        '--url',
        testUrl('ownerUrl'),
        ...PROJECT_SCHEMAS.flatMap((s) => ['--schema', s]),
        '--profile',
        'citus',
      ]);
      const lines = run.stdout.split('\n');
      const findings = await checkTenancyCatalog(owner, {
        schemas: PROJECT_SCHEMAS,
        profile: 'citus',
      });
      expect(run.code).toBe(0);
      expect(findings).toEqual([]);
      expect(lines).toEqual([
        'tenancy catalog check: passed',
        'citus plan: distribute by the tenant column, colocated: sales.accounts, sales.team_members, sales.deals, support.agents, support.tickets, support.ticket_comments, tenancy.audit_log',
        'citus plan: reference tables: tenancy.tenants, support.kb_articles',
        "citus plan: distribute with citus.enable_unsafe_triggers on (the audit trail's trigger, writing into the colocated tenancy.audit_log): sales.accounts, sales.team_members, sales.deals, support.tickets, support.ticket_comments",
      ]);
      const listed = (line: string) =>
        line
          .slice(line.lastIndexOf(': ') + 2)
          .split(', ')
          .sort();
      expect(listed(lines[1])).toEqual([...CITUS_DISTRIBUTED_TABLES].sort());
      expect(listed(lines[2])).toEqual([...CITUS_REFERENCE_TABLES].sort());
    });

    it('writes the Citus findings in the JSON output too, and refuses an unknown profile', async () => {
      const base = ['check', '--url', testUrl('ownerUrl'), '--schema', 'support'];
      const json = await cli([...base, '--profile', 'citus', '--format', 'json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual(
        await checkTenancyCatalog(owner, { schemas: ['support'], profile: 'citus' }),
      );
      const unknown = await cli([...base, '--profile', 'vitess']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(
        /^nestjs-rls-tenancy check: unknown profile "vitess": use citus\n/,
      );
    });
  });

  describe('on deliberately broken tables', () => {
    const schema = `citus_${suffix()}`;
    const findingsOf = async (relation: string) =>
      citusOnly(await checkTenancyCatalog(owner, { schemas: [schema], profile: 'citus' })).filter(
        (f) => f.relation === `${schema}.${relation}`,
      );
    const table = (name: string, columns: string) =>
      owner.query(`CREATE TABLE ${schema}.${name} (${columns})`);

    beforeAll(async () => {
      await owner.query(`CREATE SCHEMA ${schema}`);
      await table('parent', 'tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
    });
    afterAll(async () => {
      await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    });

    it('accepts a tenant table with tenant-led keys and no policy or trigger', async () => {
      expect(await findingsOf('parent')).toEqual([]);
    });

    it('reports a primary key without tenant_id', async () => {
      await table('pk_bad', 'id int PRIMARY KEY, tenant_id uuid NOT NULL');
      expect(await findingsOf('pk_bad')).toEqual([
        {
          code: 'CITUS_KEY_WITHOUT_TENANT',
          relation: `${schema}.pk_bad`,
          message: `${schema}.pk_bad: primary key pk_bad_pkey (id) does not include tenant_id, and Citus refuses a distributed table's unique and exclusion keys without the distribution column (each node checks only its own rows); make it PRIMARY KEY (tenant_id, ...)`,
        },
      ]);
    });

    it('reports a unique constraint and a unique index without tenant_id, and accepts one with it second', async () => {
      await table(
        'uq',
        'tenant_id uuid NOT NULL, id int, email text UNIQUE, code text, PRIMARY KEY (tenant_id, id), UNIQUE (code, tenant_id)',
      );
      await owner.query(`CREATE UNIQUE INDEX uq_lower_email ON ${schema}.uq (lower(email))`);
      const unique = (what: string, fix: string) => ({
        code: 'CITUS_KEY_WITHOUT_TENANT',
        relation: `${schema}.uq`,
        message: `${schema}.uq: ${what} does not include tenant_id, and Citus refuses a distributed table's unique and exclusion keys without the distribution column (each node checks only its own rows); make it ${fix}`,
      });
      expect(await findingsOf('uq')).toEqual([
        unique('unique constraint uq_email_key (email)', 'UNIQUE (tenant_id, ...)'),
        unique('unique index uq_lower_email ((expression))', 'a unique index on (tenant_id, ...)'),
      ]);
    });

    it('reports an exclusion constraint without tenant_id WITH =', async () => {
      await table(
        'booking',
        'tenant_id uuid NOT NULL, id int, during tstzrange, PRIMARY KEY (tenant_id, id), EXCLUDE USING gist (during WITH &&)',
      );
      expect((await findingsOf('booking')).map((f) => f.message)).toEqual([
        `${schema}.booking: exclusion constraint booking_during_excl (during) does not include tenant_id WITH =, and Citus refuses a distributed table's unique and exclusion keys without the distribution column (each node checks only its own rows); make it EXCLUDE (tenant_id WITH =, ...) (btree_gist gives = to GiST)`,
      ]);
    });

    it('reports a foreign key between tenant tables without tenant_id, and accepts a composite one', async () => {
      await table('by_id', 'tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
      await owner.query(`CREATE UNIQUE INDEX by_id_id_uq ON ${schema}.by_id (id)`);
      await table(
        'child_bad',
        `tenant_id uuid NOT NULL, id int, parent_id int REFERENCES ${schema}.by_id (id), PRIMARY KEY (tenant_id, id)`,
      );
      await table(
        'child_ok',
        `tenant_id uuid NOT NULL, id int, parent_id int, PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id) ON DELETE CASCADE`,
      );
      expect(await findingsOf('child_bad')).toEqual([
        {
          code: 'CITUS_FOREIGN_KEY_NOT_COLOCATED',
          relation: `${schema}.child_bad`,
          message: `${schema}.child_bad: foreign key child_bad_parent_id_fkey (parent_id) REFERENCES ${schema}.by_id (id) does not pair tenant_id with ${schema}.by_id.tenant_id, and Citus keeps a foreign key between distributed tables only on the distribution column, at the same position on both sides; use FOREIGN KEY (tenant_id, ...) REFERENCES ${schema}.by_id (tenant_id, ...)`,
        },
      ]);
      expect((await findingsOf('by_id')).map((f) => f.code)).toEqual(['CITUS_KEY_WITHOUT_TENANT']);
      expect(await findingsOf('child_ok')).toEqual([]);
    });

    it('reports a foreign key that pairs tenant_id with another column', async () => {
      await table(
        'both_uuid',
        'tenant_id uuid NOT NULL, other uuid NOT NULL, PRIMARY KEY (tenant_id, other)',
      );
      await table(
        'swapped',
        `tenant_id uuid NOT NULL, id int, ref uuid, PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (ref, tenant_id) REFERENCES ${schema}.both_uuid (tenant_id, other)`,
      );
      expect((await findingsOf('swapped')).map((f) => f.message)).toEqual([
        `${schema}.swapped: foreign key swapped_ref_tenant_id_fkey (ref, tenant_id) REFERENCES ${schema}.both_uuid (tenant_id, other) does not pair tenant_id with ${schema}.both_uuid.tenant_id, and Citus keeps a foreign key between distributed tables only on the distribution column, at the same position on both sides; use FOREIGN KEY (tenant_id, ...) REFERENCES ${schema}.both_uuid (tenant_id, ...)`,
      ]);
    });

    it('reports ON DELETE SET NULL and ON UPDATE CASCADE on a foreign key with tenant_id', async () => {
      await table(
        'unassigning',
        `tenant_id uuid NOT NULL, id int, parent_id int, PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id) ON DELETE SET NULL (parent_id)`,
      );
      await table(
        'cascading',
        `tenant_id uuid NOT NULL, id int, parent_id int, PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id) ON UPDATE CASCADE ON DELETE CASCADE`,
      );
      const action = (relation: string, actions: string) => ({
        code: 'CITUS_FOREIGN_KEY_ACTION',
        relation: `${schema}.${relation}`,
        message: `${schema}.${relation}: foreign key ${relation}_tenant_id_parent_id_fkey (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id) includes tenant_id and has ${actions}, which Citus refuses on a foreign key with the distribution column (even with a column list, the action could change it); keep ON DELETE NO ACTION, RESTRICT or CASCADE and ON UPDATE NO ACTION or RESTRICT, and clear the other columns in the application (an UPDATE in the transaction that deletes the referenced row)`,
      });
      expect(await findingsOf('unassigning')).toEqual([
        action('unassigning', 'ON DELETE SET NULL'),
      ]);
      expect(await findingsOf('cascading')).toEqual([action('cascading', 'ON UPDATE CASCADE')]);
    });

    it('reports a nullable tenant_id on a table that references a tenant table, and accepts a shared table', async () => {
      await table(
        'half_tenant',
        `id int PRIMARY KEY, tenant_id uuid, parent_id int,
         FOREIGN KEY (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id)`,
      );
      await table('shared', 'id int PRIMARY KEY, tenant_id uuid, title text');
      expect(await findingsOf('half_tenant')).toEqual([
        {
          code: 'CITUS_TENANT_COLUMN_NULLABLE',
          relation: `${schema}.half_tenant`,
          message: `${schema}.half_tenant: tenant_id may be NULL, so Citus cannot distribute the table (a distribution column holds no NULL) and must replicate it as a reference table, but its foreign key half_tenant_tenant_id_parent_id_fkey (tenant_id, parent_id) REFERENCES ${schema}.parent (tenant_id, id) points at a table distributed by tenant_id, which a reference table cannot; if every row has a tenant, ALTER TABLE ${schema}.half_tenant ALTER COLUMN tenant_id SET NOT NULL (it is then distributed); if it holds shared rows (tenant_id IS NULL), drop that foreign key`,
        },
      ]);
      expect(await findingsOf('shared')).toEqual([]);
    });

    it('reports a table without tenant_id that references a tenant table', async () => {
      await table(
        'notes_about',
        `id int PRIMARY KEY, org uuid, parent_id int,
         FOREIGN KEY (org, parent_id) REFERENCES ${schema}.parent (tenant_id, id)`,
      );
      expect(await findingsOf('notes_about')).toEqual([
        {
          code: 'CITUS_FOREIGN_KEY_TO_DISTRIBUTED',
          relation: `${schema}.notes_about`,
          message: `${schema}.notes_about has no tenant_id column, but its foreign key notes_about_org_parent_id_fkey (org, parent_id) REFERENCES ${schema}.parent (tenant_id, id) points at a table Citus distributes by tenant_id, and Citus accepts a foreign key to a distributed table only from a colocated distributed table; add tenant_id NOT NULL to ${schema}.notes_about and to the key (FOREIGN KEY (tenant_id, ...) REFERENCES ${schema}.parent (tenant_id, ...)), or drop the foreign key`,
        },
      ]);
    });

    it('reports a tenant table without primary key until it has a replica identity', async () => {
      await table('heap', 'tenant_id uuid NOT NULL, id int');
      expect(await findingsOf('heap')).toEqual([
        {
          code: 'CITUS_NO_REPLICA_IDENTITY',
          relation: `${schema}.heap`,
          message: `${schema}.heap has no primary key (nor replica identity), so Citus cannot move its shards between nodes while it takes writes (the shard rebalancer copies changes by logical replication, which needs one); add PRIMARY KEY (tenant_id, id)`,
        },
      ]);
      await owner.query(`ALTER TABLE ${schema}.heap REPLICA IDENTITY FULL`);
      expect(await findingsOf('heap')).toEqual([]);
    });

    it('reports a tenant column whose type differs from the other tenant tables', async () => {
      await table('texty', 'tenant_id text NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
      expect((await findingsOf('texty')).map((f) => f.message)).toEqual([
        `${schema}.texty: tenant_id is text while the other tenant tables' is uuid, and Citus colocates only tables whose distribution columns have the same type; ALTER TABLE ${schema}.texty ALTER COLUMN tenant_id TYPE uuid`,
      ]);
    });

    it('reports a trigger on a tenant table', async () => {
      await table(
        'stamped',
        'tenant_id uuid NOT NULL, id int, at timestamptz, PRIMARY KEY (tenant_id, id)',
      );
      await owner.query(
        `CREATE FUNCTION ${schema}.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$`,
      );
      await owner.query(
        `CREATE TRIGGER stamp BEFORE INSERT ON ${schema}.stamped FOR EACH ROW EXECUTE FUNCTION ${schema}.stamp()`,
      );
      expect(await findingsOf('stamped')).toEqual([
        {
          code: 'CITUS_TRIGGER',
          relation: `${schema}.stamped`,
          message: `${schema}.stamped: trigger stamp stops Citus from distributing the table (it refuses triggers on distributed and reference tables unless citus.enable_unsafe_triggers is on, which it warns may cause visibility and deadlock issues); do the trigger's work in the application, or turn that setting on and make the trigger touch only rows of its own tenant in colocated tables`,
        },
      ]);
    });

    it("reports a policy with a sub-select (enableTenantRls's guard, a lookup of another table), and accepts one without", async () => {
      await table('guarded', 'tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
      await enableTenantRls(owner, `${schema}.guarded`);
      await table('looked_up', 'tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
      await owner.query(`ALTER TABLE ${schema}.looked_up ENABLE ROW LEVEL SECURITY`);
      await owner.query(
        `CREATE POLICY bare ON ${schema}.looked_up USING (${GUARD}) WITH CHECK (${GUARD})`,
      );
      await owner.query(
        `CREATE POLICY via_parent ON ${schema}.looked_up FOR SELECT
           USING (id IN (SELECT p.id FROM ${schema}.parent p WHERE ${GUARD.replace('tenant_id', 'p.tenant_id')}))`,
      );
      expect(await findingsOf('guarded')).toEqual([
        {
          code: 'CITUS_POLICY_SUBQUERY',
          relation: `${schema}.guarded`,
          message: `${schema}.guarded: policy tenant_guard has a sub-select, and Citus refuses sub-selects in the policies of distributed and reference tables; read each setting without one, e.g. NULLIF(current_setting('app.tenant_id', true), '')::uuid rather than (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid): current_setting is stable, so an index condition still evaluates it once (the library's policy helpers and current*Expression() write it so with settingForm: 'plain')`,
        },
      ]);
      expect(await findingsOf('looked_up')).toEqual([
        {
          code: 'CITUS_POLICY_SUBQUERY',
          relation: `${schema}.looked_up`,
          message: `${schema}.looked_up: policy via_parent reads ${schema}.parent in a sub-select, and Citus refuses sub-selects in the policies of distributed and reference tables (nor may a function the policy calls query a distributed table from a shard); hand the policy what it reads as a transaction setting the application writes, or check that rule in the application and keep the tenant guard in the policy`,
        },
      ]);
    });

    it("accepts enableTenantRls's guard in settingForm 'plain', which still isolates tenants", async () => {
      await table('plain', 'tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id)');
      await enableTenantRls(owner, `${schema}.plain`, { settingForm: 'plain' });
      await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
      expect(await findingsOf('plain')).toEqual([]);
      const [a, b] = [randomUUID(), randomUUID()];
      for (const [tenant, id] of [
        [a, 1],
        [b, 2],
      ] as const) {
        await inTenant(owner, tenant, () =>
          owner.query(`INSERT INTO ${schema}.plain VALUES ($1, $2)`, [tenant, id]),
        );
      }
      const app = await connect('app');
      try {
        const ids = (tenant: string | null) =>
          inTenant(app, tenant, async () =>
            (await app.query(`SELECT id FROM ${schema}.plain ORDER BY id`)).rows.map(
              (r: { id: number }) => r.id,
            ),
          );
        expect([await ids(a), await ids(b), await ids(null)]).toEqual([[1], [2], []]);
        const moved = inTenant(app, a, () =>
          app.query(`UPDATE ${schema}.plain SET tenant_id = $1`, [b]),
        );
        await expect(moved).rejects.toMatchObject({ code: '42501' });
      } finally {
        await app.end();
      }
    });

    it('reports the tables of a cycle of foreign keys', async () => {
      await table(
        'egg',
        'tenant_id uuid NOT NULL, id int, hen_id int, PRIMARY KEY (tenant_id, id)',
      );
      await table(
        'hen',
        `tenant_id uuid NOT NULL, id int, egg_id int, PRIMARY KEY (tenant_id, id),
         FOREIGN KEY (tenant_id, egg_id) REFERENCES ${schema}.egg (tenant_id, id)`,
      );
      await owner.query(
        `ALTER TABLE ${schema}.egg ADD FOREIGN KEY (tenant_id, hen_id) REFERENCES ${schema}.hen (tenant_id, id)`,
      );
      const cycle = (relation: string) => ({
        code: 'CITUS_FOREIGN_KEY_CYCLE',
        relation: `${schema}.${relation}`,
        message: `${schema}.${relation} is in a cycle of foreign keys (${schema}.egg, ${schema}.hen), and Citus distributes one table at a time, each after the tables it references; drop one foreign key of the cycle before distributing and add it back after`,
      });
      expect(await findingsOf('egg')).toEqual([cycle('egg')]);
      expect(await findingsOf('hen')).toEqual([cycle('hen')]);
    });

    it('leaves the findings of the tenancy rules as they are without the profile', async () => {
      const without = await checkTenancyCatalog(owner, { schemas: [schema] });
      const withCitus = await checkTenancyCatalog(owner, { schemas: [schema], profile: 'citus' });
      expect(without.some((f) => f.code.startsWith('CITUS_'))).toBe(false);
      expect(withCitus.filter((f) => !f.code.startsWith('CITUS_'))).toEqual(without);
    });
  });

  describe('the plan on the command line', () => {
    const schema = `citus_plan_${suffix()}`;
    const secure = async (table: string) => {
      await owner.query(`ALTER TABLE ${schema}.${table} ENABLE ROW LEVEL SECURITY`);
      await owner.query(`ALTER TABLE ${schema}.${table} FORCE ROW LEVEL SECURITY`);
      await owner.query(
        `CREATE POLICY guard ON ${schema}.${table} USING (${GUARD}) WITH CHECK (${GUARD})`,
      );
    };

    beforeAll(async () => {
      await owner.query(`CREATE SCHEMA ${schema}`);
      await owner.query(`CREATE TABLE ${schema}.orgs (id uuid PRIMARY KEY)`);
      await owner.query(`CREATE TABLE ${schema}.lonely (id int PRIMARY KEY)`);
      await owner.query(
        `CREATE TABLE ${schema}.tasks (tenant_id uuid NOT NULL, id int, project_id int, PRIMARY KEY (tenant_id, id))`,
      );
      await owner.query(
        `CREATE TABLE ${schema}.projects (tenant_id uuid NOT NULL REFERENCES ${schema}.orgs (id), id int, PRIMARY KEY (tenant_id, id))`,
      );
      await owner.query(
        `ALTER TABLE ${schema}.tasks ADD FOREIGN KEY (tenant_id, project_id) REFERENCES ${schema}.projects (tenant_id, id)`,
      );
      await owner.query(
        `CREATE TABLE ${schema}.articles (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), tenant_id uuid REFERENCES ${schema}.orgs (id))`,
      );
      for (const table of ['tasks', 'projects', 'articles']) await secure(table);
    });
    afterAll(async () => {
      await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    });

    it('passes, and names the tables to distribute and the reference tables, referenced ones first', async () => {
      const run = await cli([
        'check',
        '--url',
        testUrl('ownerUrl'),
        '--schema',
        schema,
        '--profile',
        'citus',
      ]);
      expect(run).toEqual({
        code: 0,
        stdout: [
          'tenancy catalog check: passed',
          `citus plan: distribute by the tenant column, colocated: ${schema}.projects, ${schema}.tasks`,
          `citus plan: reference tables: ${schema}.orgs, ${schema}.articles`,
        ].join('\n'),
        stderr: '',
      });
    });
  });

  describe('distributeTenantTables', () => {
    const options = (lines: string[]) => ({
      tables: CITUS_DISTRIBUTED_TABLES,
      referenceTables: CITUS_REFERENCE_TABLES,
      logger: { log: (line: string) => lines.push(line) },
    });

    it('on plain PostgreSQL, changes nothing and logs one line each way', async () => {
      const { rows } = await owner.query(
        `SELECT extname FROM pg_extension WHERE extname = 'citus'`,
      );
      expect(rows).toEqual([]);
      const lines: string[] = [];
      const tenancy = tenancyMigrations();
      expect(await tenancy.distributeTenantTables(owner, options(lines))).toBe(false);
      expect(await tenancy.undistributeTenantTables(owner, options(lines))).toBe(false);
      expect(lines).toEqual([
        'citus is not installed in this database: distributeTenantTables left 9 table(s) as they are',
        'citus is not installed in this database: undistributeTenantTables left 9 table(s) as they are',
      ]);
    });

    it("with Citus, would distribute the migration's tables in this order, by the factory's tenant column (Citus calls recorded, catalog read from PostgreSQL)", async () => {
      /** Answers as if Citus were installed; the foreign keys come from the migrated database. */
      const calls: [string, unknown[]][] = [];
      const standIn = {
        query: async (sql: string, parameters: unknown[] = []) => {
          if (sql.includes('FROM pg_extension')) return [{ '?column?': 1 }];
          if (/citus|create_|pg_dist_partition|undistribute_table/.test(sql)) {
            calls.push([sql, parameters]);
            return [{ citus: true }];
          }
          return (await owner.query(sql, parameters)).rows;
        },
      };
      const lines: string[] = [];
      expect(await tenancyMigrations().distributeTenantTables(standIn, options(lines))).toBe(true);
      const distribute = (table: string, colocateWith: string) => [
        'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
        [table, 'tenant_id', colocateWith],
      ];
      expect(calls).toEqual([
        [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
        ['SELECT create_reference_table($1::regclass)', ['tenancy.tenants']],
        ['SELECT create_reference_table($1::regclass)', ['support.kb_articles']],
        ['SET LOCAL citus.enable_unsafe_triggers TO on', []],
        distribute('tenancy.audit_log', 'default'),
        ...[
          'support.agents',
          'support.tickets',
          'support.ticket_comments',
          'sales.team_members',
          'sales.accounts',
          'sales.deals',
        ].map((table) => distribute(table, 'tenancy.audit_log')),
      ]);
      expect(lines).toHaveLength(1);

      calls.length = 0;
      await tenancyMigrations({ tenantColumn: 'org_id' }).distributeTenantTables(standIn, {
        tables: ['support.tickets'],
        logger: { log: () => undefined },
      });
      expect(calls.at(-1)).toEqual([
        'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
        ['support.tickets', 'org_id', 'default'],
      ]);
    });
  });
});
