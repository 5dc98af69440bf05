import { Client } from 'pg';
import { enableTenantRls, grantSchemaUsage, SarifLog } from '@app/tenancy';
import { connect, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { cli } from '../support/cli';

const PROJECT_SCHEMAS = ['--schema', 'tenancy', '--schema', 'support', '--schema', 'sales'];
const TENANT_A = '0a000000-0000-4000-8000-00000000000a';
const TENANT_B = '0b000000-0000-4000-8000-00000000000b';
const USER = '0c000000-0000-4000-8000-00000000000c';

describe('nestjs-rls-tenancy command line', () => {
  const schema = `cli_${suffix()}`;
  let owner: Client;
  let admin: Client;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(
      `CREATE TABLE ${schema}.bare (org_id uuid NOT NULL, id int, PRIMARY KEY (org_id, id))`,
    );
    await owner.query(
      `CREATE TABLE ${schema}.notes (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id))`,
    );
    await enableTenantRls(owner, `${schema}.notes`);
    await grantSchemaUsage(owner, [schema]);
    await admin.query(
      `INSERT INTO ${schema}.notes (tenant_id, id) VALUES ('${TENANT_A}', 1), ('${TENANT_B}', 1)`,
    );
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    await admin.end();
  });

  describe('check', () => {
    /**
     * The check of the scratch schema, whose tenant column is org_id: the default start-up check
     * of apps booting in parallel suites (tenant_id) never sees its broken table.
     */
    const checkScratch = (...extra: string[]) =>
      cli([
        'check',
        '--url',
        testUrl('ownerUrl'),
        '--schema',
        schema,
        '--tenant-column',
        'org_id',
        ...extra,
      ]);

    it("exits 0 and says passed on the project's migrated schemas", async () => {
      const run = await cli(['check', '--url', testUrl('ownerUrl'), ...PROJECT_SCHEMAS]);
      expect(run).toEqual({ code: 0, stdout: 'tenancy catalog check: passed', stderr: '' });
    });

    it('reads the database from DATABASE_URL when --url is not given', async () => {
      const run = await cli(['check', ...PROJECT_SCHEMAS], { DATABASE_URL: testUrl('ownerUrl') });
      expect(run.code).toBe(0);
    });

    it('exits 1 and lists the findings of a table without row-level security', async () => {
      const run = await checkScratch();
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n').map((l) => /^ {2}\[(\w+)\] /.exec(l)?.[1] ?? l)).toEqual([
        'tenancy catalog check: 3 finding(s)',
        'RLS_NOT_ENABLED',
        'RLS_NOT_FORCED',
        'NO_POLICY',
      ]);
    });

    it('writes the findings as a JSON array with --format json', async () => {
      const run = await checkScratch('--format', 'json');
      expect(run.code).toBe(1);
      const findings = JSON.parse(run.stdout) as { code: string; relation: string }[];
      expect(findings.map((f) => [f.code, f.relation])).toEqual([
        ['RLS_NOT_ENABLED', `${schema}.bare`],
        ['RLS_NOT_FORCED', `${schema}.bare`],
        ['NO_POLICY', `${schema}.bare`],
      ]);
    });

    it('writes a SARIF 2.1.0 log with one rule per code and one located result per finding', async () => {
      const run = await checkScratch('--format', 'sarif');
      expect(run.code).toBe(1);
      const log = JSON.parse(run.stdout) as SarifLog;
      expect(log.version).toBe('2.1.0');
      expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
      expect(log.runs).toHaveLength(1);
      const [{ tool, results }] = log.runs;
      expect(tool.driver.name).toBe('nestjs-rls-tenancy');
      expect(tool.driver.rules).toEqual([
        { id: 'RLS_NOT_ENABLED' },
        { id: 'RLS_NOT_FORCED' },
        { id: 'NO_POLICY' },
      ]);
      expect(results.map((r) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
        ['RLS_NOT_ENABLED', 0, 'error'],
        ['RLS_NOT_FORCED', 1, 'error'],
        ['NO_POLICY', 2, 'error'],
      ]);
      expect(results[0].message.text).toMatch(/row-level security is not enabled/);
      expect(results[0].locations).toEqual([
        { logicalLocations: [{ name: 'bare', fullyQualifiedName: `${schema}.bare` }] },
      ]);
    });

    it('skips a documented exception given with --ignore', async () => {
      const run = await checkScratch('--ignore', `${schema}.bare`);
      expect(run).toEqual({ code: 0, stdout: 'tenancy catalog check: passed', stderr: '' });
    });

    it('exits 2 with a one-line message and no password or stack trace when it cannot connect', async () => {
      const run = await cli(['check', '--url', 'postgres://someone:s3cret@127.0.0.1:1/nowhere']);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        /^nestjs-rls-tenancy check: could not connect to postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/,
      );
      expect(run.stderr).not.toContain('s3cret');
      expect(run.stderr.split('\n')).toHaveLength(1);
    });

    it('exits 2 with the usage for an unknown option', async () => {
      const run = await cli(['check', '--url', testUrl('ownerUrl'), '--colour']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^nestjs-rls-tenancy check: unknown option --colour\n\nusage: nestjs-rls-tenancy check /,
      );
    });

    it('exits 2 for an unknown format, and when no database is named', async () => {
      expect((await cli(['check', '--url', testUrl('ownerUrl'), '--format', 'xml'])).code).toBe(2);
      const none = await cli(['check']);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(
        /^nestjs-rls-tenancy check: no database: pass --url <postgres url> or set DATABASE_URL\n/,
      );
    });

    it('prints its usage with --help and exits 0', async () => {
      const run = await cli(['check', '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^usage: nestjs-rls-tenancy check /);
      expect(run.stdout).toContain('exit codes: 0 no finding, 1 findings, 2 could not run');
    });
  });

  it('exits 2 with the overall usage for no command or an unknown one', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^no command\n\nusage: nestjs-rls-tenancy <command>/);
    const unknown = await cli(['lint']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "lint"/);
  });

  describe('explain', () => {
    const args = (tenant: string) => [
      'explain',
      '--url',
      testUrl('adminUrl'),
      '--table',
      `${schema}.notes`,
      '--key',
      `tenant_id=${tenant}`,
      '--key',
      'id=1',
      '--tenant',
      TENANT_A,
      '--user',
      USER,
      '--role',
      'member',
      '--as-role',
      'app_user',
    ];

    it("explains as JSON that a tenant's own row is allowed and another tenant's refused", async () => {
      const own = await cli([...args(TENANT_A), '--format', 'json']);
      expect(own.code).toBe(0);
      const allowed = JSON.parse(own.stdout);
      expect(allowed).toMatchObject({
        table: `${schema}.notes`,
        role: 'app_user',
        exists: true,
        read: { allowed: true, actual: { allowed: true }, mismatch: false },
        delete: { allowed: true, actual: { allowed: true }, mismatch: false },
      });
      const other = JSON.parse((await cli([...args(TENANT_B), '--format', 'json'])).stdout);
      expect(other.read).toMatchObject({
        allowed: false,
        reason: 'SELECT USING: restrictive tenant_guard did not pass',
        actual: { allowed: false },
      });
    });

    it('prints the verdicts and the policy table for people', async () => {
      const run = await cli(args(TENANT_B));
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        'read    refused  SELECT USING: restrictive tenant_guard did not pass',
      );
      expect(run.stdout).toMatch(/\ntenant_allow +PERMISSIVE +ALL +pass +pass\/pass +pass\n/);
      expect(run.stdout).toMatch(/\ntenant_guard +RESTRICTIVE +ALL +fail +fail\/fail +fail\n/);
    });

    it('exits 1 when a statement run as the role disagrees with the computed verdict', async () => {
      await owner.query(
        `CREATE POLICY by_system_column ON ${schema}.notes AS RESTRICTIVE FOR SELECT USING (xmin IS NOT NULL)`,
      );
      try {
        const run = await cli([...args(TENANT_A), '--format', 'json']);
        expect(run.code).toBe(1);
        const e = JSON.parse(run.stdout);
        expect(e.read).toMatchObject({ allowed: false, actual: { allowed: true }, mismatch: true });
        expect(
          e.read.policies.find((p: { name: string }) => p.name === 'by_system_column').error,
        ).toMatch(/^42703: column "xmin" does not exist/);
      } finally {
        await owner.query(`DROP POLICY by_system_column ON ${schema}.notes`);
      }
    });

    it('exits 2 without a key, and for a context that is not valid', async () => {
      const noKey = await cli(
        args(TENANT_A).filter((a, i, all) => a !== '--key' && all[i - 1] !== '--key'),
      );
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toMatch(/^nestjs-rls-tenancy explain: missing --key\n\nusage:/);
      const badTenant = await cli(args(TENANT_A).map((a) => (a === TENANT_A ? 'nope' : a)));
      expect(badTenant).toEqual({
        code: 2,
        stdout: '',
        stderr: 'nestjs-rls-tenancy explain: tenantId must be a uuid',
      });
    });
  });
});
