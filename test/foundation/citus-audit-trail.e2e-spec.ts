import { Client } from 'pg';
import {
  CatalogFinding,
  checkTenancyCatalog,
  enableAuditTrail,
  planCitusDistribution,
  tenancyMigrations,
} from '@app/tenancy';
import { connect, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { cli } from '../support/cli';

/** The generic message of a trigger Citus refuses (its body cannot be checked). */
const refused = (relation: string, trigger: string) =>
  `${relation}: trigger ${trigger} stops Citus from distributing the table (it refuses triggers on distributed and reference tables unless citus.enable_unsafe_triggers is on, which it warns may cause visibility and deadlock issues); do the trigger's work in the application, or turn that setting on and make the trigger touch only rows of its own tenant in colocated tables`;

/** The message of the audit trail on a tenant table whose log is not distributed, for `why`. */
const logNotDistributed = (relation: string, why: string) =>
  `${relation}: trigger tenancy_audit (the library's audit trail) writes each change into tenancy.audit_log, which is not distributed by tenant_id in this plan (${why}), and Citus accepts that trigger (with citus.enable_unsafe_triggers on while distributing) only when each entry goes to a colocated shard of tenancy.audit_log on the node the trigger runs on; check the tenancy schema too, so that tenancy.audit_log is distributed by tenant_id with the other tenant tables`;

describe("the Citus profile and the library's audit trail", () => {
  const schema = `citus_audit_${suffix()}`;
  const withLog = [schema, 'tenancy'];
  let owner: Client;

  /** The `CITUS_*` findings about `${schema}.<relation>`, checking `schemas`. */
  const findingsOf = async (
    relation: string,
    options: { schemas?: string[]; ignore?: string[] } = {},
  ): Promise<CatalogFinding[]> =>
    (await checkTenancyCatalog(owner, { schemas: withLog, ...options, profile: 'citus' })).filter(
      (f) => f.code.startsWith('CITUS_') && f.relation === `${schema}.${relation}`,
    );

  beforeAll(async () => {
    owner = await connect('owner');
    await owner.query(`CREATE SCHEMA ${schema}`);
    for (const table of ['items', 'stamped', 'impostor', 'plain']) {
      await owner.query(
        `CREATE TABLE ${schema}.${table} (tenant_id uuid NOT NULL, id int, at timestamptz, PRIMARY KEY (tenant_id, id))`,
      );
    }
    await owner.query(
      `CREATE TABLE ${schema}.shared (id int PRIMARY KEY, tenant_id uuid, body text)`,
    );
    await owner.query(
      `CREATE TABLE ${schema}.by_org (tenant_id uuid NOT NULL, org_id uuid, id int, PRIMARY KEY (tenant_id, id))`,
    );
    for (const table of ['items', 'stamped', 'shared']) {
      await enableAuditTrail(owner, `${schema}.${table}`);
    }
    await enableAuditTrail(owner, `${schema}.by_org`, { tenantColumn: 'org_id' });
    await owner.query(
      `CREATE FUNCTION ${schema}.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$`,
    );
    await owner.query(
      `CREATE TRIGGER stamp BEFORE INSERT ON ${schema}.stamped FOR EACH ROW EXECUTE FUNCTION ${schema}.stamp()`,
    );
    await owner.query(
      `CREATE TRIGGER tenancy_audit BEFORE INSERT ON ${schema}.impostor FOR EACH ROW EXECUTE FUNCTION ${schema}.stamp()`,
    );
  });
  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
  });

  it('accepts the audit trail on a tenant table when tenancy.audit_log is distributed in the same plan, and plans citus.enable_unsafe_triggers for it', async () => {
    expect(await findingsOf('items')).toEqual([]);
    const plan = await planCitusDistribution(owner, { schemas: withLog });
    expect(plan.distributed).toEqual(
      expect.arrayContaining(['tenancy.audit_log', `${schema}.items`, `${schema}.stamped`]),
    );
    expect(plan.unsafeTriggerTables).toEqual([`${schema}.items`, `${schema}.stamped`]);
  });

  it("still reports the table's other triggers, a trigger named tenancy_audit that runs another function, and the audit trail keyed by another column", async () => {
    expect(await findingsOf('stamped')).toEqual([
      {
        code: 'CITUS_TRIGGER',
        relation: `${schema}.stamped`,
        message: refused(`${schema}.stamped`, 'stamp'),
      },
    ]);
    expect(await findingsOf('impostor')).toEqual([
      {
        code: 'CITUS_TRIGGER',
        relation: `${schema}.impostor`,
        message: refused(`${schema}.impostor`, 'tenancy_audit'),
      },
    ]);
    expect((await findingsOf('by_org')).map((f) => f.message)).toEqual([
      refused(`${schema}.by_org`, 'tenancy_audit'),
    ]);
    expect(await findingsOf('plain')).toEqual([]);
  });

  it('reports the audit trail on a shared table, which Citus would replicate to every node', async () => {
    expect(await findingsOf('shared')).toEqual([
      {
        code: 'CITUS_TRIGGER',
        relation: `${schema}.shared`,
        message: `${schema}.shared: trigger tenancy_audit (the library's audit trail) writes each change into tenancy.audit_log, but Citus would replicate ${schema}.shared as a reference table (tenant_id nullable), whose trigger runs on the copy of every node and would write into the tenant's shard of tenancy.audit_log on other nodes, which Citus refuses from a trigger (nor does it accept triggers on reference tables unless citus.enable_unsafe_triggers is on); take the table out of the audit trail (disableAuditTrail()) and record its changes in the application`,
      },
    ]);
  });

  it('reports the audit trail when tenancy.audit_log is not among the checked schemas, or ignored', async () => {
    expect(await findingsOf('items', { schemas: [schema] })).toEqual([
      {
        code: 'CITUS_TRIGGER',
        relation: `${schema}.items`,
        message: logNotDistributed(
          `${schema}.items`,
          'its schema is not among the checked schemas',
        ),
      },
    ]);
    expect(
      (await findingsOf('items', { ignore: ['tenancy.audit_log'] })).map((f) => f.message),
    ).toEqual([logNotDistributed(`${schema}.items`, 'it is ignored')]);
    expect((await planCitusDistribution(owner, { schemas: [schema] })).unsafeTriggerTables).toEqual(
      [],
    );
  });

  it('prints the tables that need citus.enable_unsafe_triggers as a last line of the plan', async () => {
    const run = await cli([
      'check',
      '--url',
      testUrl('ownerUrl'),
      ...withLog.flatMap((s) => ['--schema', s]),
      '--profile',
      'citus',
    ]);
    expect(run.stdout.split('\n').at(-1)).toBe(
      `citus plan: distribute with citus.enable_unsafe_triggers on (the audit trail's trigger, writing into the colocated tenancy.audit_log): ${schema}.items, ${schema}.stamped`,
    );
    const alone = await cli([
      'check',
      '--url',
      testUrl('ownerUrl'),
      '--schema',
      schema,
      '--profile',
      'citus',
    ]);
    expect(alone.stdout.split('\n').at(-1)).toMatch(/^citus plan: reference tables: /);
  });

  describe('distributeTenantTables (Citus calls recorded, catalog read from PostgreSQL)', () => {
    /** Answers as if Citus were installed, `distributed` already distributed; records Citus calls. */
    const standIn = (calls: [string, unknown[]][], distributed: string[] = []) => ({
      query: async (sql: string, parameters: unknown[] = []) => {
        if (sql.includes('FROM pg_extension')) return [{ '?column?': 1 }];
        if (/citus|create_|pg_dist_partition/.test(sql)) {
          calls.push([sql.replace(/\s+/g, ' ').trim(), parameters]);
          return [{ citus: distributed.includes(parameters[0] as string) }];
        }
        return (await owner.query(sql, parameters)).rows;
      },
    });
    const quiet = { log: () => undefined };
    const distribute = (table: string, colocateWith: string) => [
      'SELECT create_distributed_table($1::regclass, $2, colocate_with => $3)',
      [table, 'tenant_id', colocateWith],
    ];

    it('distributes tenancy.audit_log first and turns citus.enable_unsafe_triggers on for an audited table', async () => {
      const calls: [string, unknown[]][] = [];
      const lines: string[] = [];
      await tenancyMigrations().distributeTenantTables(standIn(calls), {
        tables: [`${schema}.plain`, `${schema}.items`, 'tenancy.audit_log'],
        logger: { log: (line: string) => lines.push(line) },
      });
      expect(calls).toEqual([
        [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
        ['SET LOCAL citus.enable_unsafe_triggers TO on', []],
        distribute('tenancy.audit_log', 'default'),
        distribute(`${schema}.plain`, 'tenancy.audit_log'),
        distribute(`${schema}.items`, 'tenancy.audit_log'),
      ]);
      expect(lines).toEqual([
        `citus: 0 reference table(s) () and 3 table(s) distributed by tenant_id, colocated (tenancy.audit_log, ${schema}.plain, ${schema}.items); citus.enable_unsafe_triggers on for the audit trail of ${schema}.items`,
      ]);
    });

    it('leaves the setting alone without an audited table, and the trigger named tenancy_audit that runs another function is none', async () => {
      const calls: [string, unknown[]][] = [];
      await tenancyMigrations().distributeTenantTables(standIn(calls), {
        tables: [`${schema}.plain`, `${schema}.impostor`],
        logger: quiet,
      });
      expect(calls).toEqual([
        [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
        distribute(`${schema}.plain`, 'default'),
        distribute(`${schema}.impostor`, `${schema}.plain`),
      ]);
    });

    it('refuses an audited table when tenancy.audit_log is neither listed nor distributed, and accepts it distributed already', async () => {
      const refusedCalls: [string, unknown[]][] = [];
      await expect(
        tenancyMigrations().distributeTenantTables(standIn(refusedCalls), {
          tables: [`${schema}.items`],
          logger: quiet,
        }),
      ).rejects.toThrow(
        `the audit trail's trigger on ${schema}.items writes each change into tenancy.audit_log on the node of the row's shard, and tenancy.audit_log is neither in tables nor distributed`,
      );
      expect(refusedCalls.map(([sql]) => sql)).toEqual([
        `SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1) AND partmethod = 'h') AS citus`,
      ]);

      const calls: [string, unknown[]][] = [];
      await tenancyMigrations().distributeTenantTables(standIn(calls, ['tenancy.audit_log']), {
        tables: [`${schema}.items`],
        colocateWith: 'tenancy.audit_log',
        logger: quiet,
      });
      expect(calls.slice(1)).toEqual([
        [`SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`, []],
        ['SET LOCAL citus.enable_unsafe_triggers TO on', []],
        distribute(`${schema}.items`, 'tenancy.audit_log'),
      ]);
    });
  });
});
