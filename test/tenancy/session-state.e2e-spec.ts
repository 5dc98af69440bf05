import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TenantRunner, TenantSessionStateError } from '@app/tenancy';
import { notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

/**
 * Statements that would change the pooled connection's session (and so reach the next tenant on
 * it) are refused inside a tenant scope with the transaction-local alternative named; what the
 * next tenant then finds on the one connection is exactly a fresh session's state.
 */
const REFUSED: { sql: string; parameters?: unknown[]; fix: RegExp }[] = [
  { sql: 'CREATE TEMP TABLE leak AS SELECT * FROM lib_test.notes', fix: /ON COMMIT DROP/ },
  { sql: 'CREATE TEMPORARY TABLE leak (a int)', fix: /ON COMMIT DROP/ },
  { sql: 'CREATE TABLE pg_temp.leak (a int)', fix: /ON COMMIT DROP/ },
  { sql: 'SELECT * INTO TEMP leak FROM lib_test.notes', fix: /ON COMMIT DROP/ },
  { sql: 'SET ROLE app_user', fix: /SET LOCAL ROLE/ },
  { sql: 'SET SESSION AUTHORIZATION app_user', fix: /SET LOCAL ROLE/ },
  { sql: 'SET search_path = lib_test', fix: /SET LOCAL/ },
  { sql: 'SET statement_timeout = 12345', fix: /SET LOCAL/ },
  { sql: 'SET SESSION statement_timeout = 12345', fix: /SET LOCAL/ },
  { sql: 'RESET statement_timeout', fix: /SET LOCAL/ },
  { sql: "SELECT set_config('app.tenant_id', $1, false)", fix: /set_config\(name, value, true\)/ },
  {
    sql: 'SELECT set_config($1, $2, $3)',
    parameters: ['statement_timeout', '12345', false],
    fix: /set_config\(name, value, true\)/,
  },
  { sql: 'SELECT pg_advisory_lock(42)', fix: /pg_advisory_xact_lock/ },
  { sql: 'SELECT pg_try_advisory_lock_shared(42)', fix: /pg_advisory_xact_lock/ },
  { sql: 'LISTEN tenant_events', fix: /dedicated connection/ },
  { sql: 'PREPARE leak AS SELECT title FROM lib_test.notes', fix: /parameterised query/ },
  {
    sql: 'DECLARE leak CURSOR WITH HOLD FOR SELECT title FROM lib_test.notes',
    fix: /WITHOUT HOLD/,
  },
  { sql: 'SELECT 1; SET search_path = lib_test', fix: /SET LOCAL/ },
  { sql: "DO $$ BEGIN PERFORM set_config('search_path', 'lib_test', false); END $$", fix: /true/ },
];

/** What a fresh session on the connection shows; the next tenant must find exactly this. */
const SESSION_PROBE = `
  SELECT current_user AS "user",
         current_setting('role') AS role,
         current_setting('search_path') AS "searchPath",
         current_setting('statement_timeout') AS "statementTimeout",
         to_regclass('pg_temp.leak') IS NOT NULL AS "tempTable",
         (SELECT count(*)::int FROM pg_locks
           WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS "advisoryLocks",
         (SELECT count(*)::int FROM pg_listening_channels()) AS listening,
         (SELECT count(*)::int FROM pg_prepared_statements WHERE name = 'leak') AS prepared,
         (SELECT count(*)::int FROM pg_cursors) AS cursors,
         (SELECT count(*)::int FROM lib_test.notes) AS notes`;

const MODES = [
  { name: 'serial', pipeline: false },
  { name: 'pipelined', pipeline: true },
];

for (const { name, pipeline } of MODES) {
  describe(`TenancyModule: session state never outlives a tenant scope (pool size 1, ${name})`, () => {
    let owner: Client;
    let app: INestApplication;
    let ds: DataSource;
    let tenancy: TenantRunner;
    let a: NotesTenant;
    let b: NotesTenant;
    let clean: Record<string, unknown>;

    const ctx = (t: NotesTenant) => ({ tenantId: t.id, userId: t.userId, role: 'member' });
    const probe = async (t: NotesTenant) =>
      tenancy.run(
        ctx(t),
        async () => (await ds.query(SESSION_PROBE))[0] as Record<string, unknown>,
      );

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ poolSize: 1, pipeline }));
      ds = app.get(DataSource);
      tenancy = app.get(TenantRunner);
      a = await notesTenant(owner, `session-a-${name}`, ['a-one']);
      b = await notesTenant(owner, `session-b-${name}`, ['b-one', 'b-two']);
      clean = await probe(b);
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it('starts from a fresh session: app_user, default settings, nothing held', () => {
      expect(clean).toEqual({
        user: 'app_user',
        role: 'none',
        searchPath: '"$user", public',
        statementTimeout: '0',
        tempTable: false,
        advisoryLocks: 0,
        listening: 0,
        prepared: 0,
        cursors: 0,
        notes: 2,
      });
    });

    for (const { sql, parameters, fix } of REFUSED) {
      it(`refuses ${sql} in tenant A, naming the alternative; B on the same connection sees a fresh session`, async () => {
        const refused = await tenancy
          .run(ctx(a), async () => {
            await ds.query('SELECT 1');
            return ds.query(sql, parameters ?? (sql.includes('$1') ? [a.id] : undefined));
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(refused).toBeInstanceOf(TenantSessionStateError);
        expect((refused as Error).message).toMatch(fix);
        expect(await probe(b)).toEqual(clean);
      });
    }

    it('refuses session state sent through a query runner and a stream as well', async () => {
      const fromRunner = await tenancy
        .run(ctx(a), () => ds.createQueryRunner().query('SET search_path = lib_test'))
        .catch((e: unknown) => e);
      expect(fromRunner).toBeInstanceOf(TenantSessionStateError);
      if (!pipeline) {
        const fromStream = await tenancy
          .run(ctx(a), () => ds.createQueryRunner().stream('SELECT pg_advisory_lock(7)'))
          .catch((e: unknown) => e);
        expect(fromStream).toBeInstanceOf(TenantSessionStateError);
      }
      expect(await probe(b)).toEqual(clean);
    });

    it('runs the transaction-local alternatives, which end with the transaction', async () => {
      const inside = await tenancy.run(ctx(a), async () => {
        await ds.query('SET LOCAL search_path = lib_test');
        await ds.query(`SET LOCAL statement_timeout = 12345`);
        await ds.query(`SELECT set_config('app.extra', 'x', true)`);
        await ds.query('SELECT pg_advisory_xact_lock(42)');
        await ds.query('DECLARE c CURSOR FOR SELECT title FROM notes ORDER BY title');
        const fetched = await ds.query('FETCH ALL FROM c');
        await ds.query('SET LOCAL ROLE app_user');
        return {
          fetched,
          settings: (
            await ds.query(
              `SELECT current_setting('search_path') AS p, current_setting('statement_timeout') AS t`,
            )
          )[0],
          locks: (
            await ds.query(
              `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
            )
          )[0].n,
        };
      });
      expect(inside).toEqual({
        fetched: [{ title: 'a-one' }],
        settings: { p: 'lib_test', t: '12345ms' },
        locks: 1,
      });
      expect(await probe(b)).toEqual(clean);
    });

    it('lets CREATE TEMP TABLE ... ON COMMIT DROP through to PostgreSQL, which refuses the app role TEMPORARY', async () => {
      const error = await tenancy
        .run(ctx(a), () => ds.query('CREATE TEMP TABLE scratch (a int) ON COMMIT DROP'))
        .catch((e: { code?: string }) => e);
      expect(error).not.toBeInstanceOf(TenantSessionStateError);
      expect((error as { driverError?: { code?: string } }).driverError?.code).toBe('42501');
      expect(await probe(b)).toEqual(clean);
    });

    it('leaves statements outside any tenant scope alone (migrations, admin scripts)', async () => {
      await ds.query('SET statement_timeout = 12345');
      expect((await ds.query(`SELECT current_setting('statement_timeout') AS t`))[0].t).toBe(
        '12345ms',
      );
      await ds.query('RESET statement_timeout');
      expect(await probe(b)).toEqual(clean);
    });
  });
}
