import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { dropRequestRole, ensureRequestRole } from '@app/tenancy';
import { connect, inTenant } from '../support/db';
import { testUrl } from '../support/test-env';
import { createNotesApp } from '../tenancy/fixtures/notes.app';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';
import {
  get,
  notesTenant,
  NotesTenant,
  post,
  storedTitles,
} from '../tenancy/fixtures/notes.harness';
import { findPgBouncer, RunningPgBouncer, startPgBouncer } from './support/pgbouncer';
import { abortableGet, activeBackends, pollUntil, prng, seedFromEnv } from './support/util';

const PGBOUNCER = findPgBouncer();
if (!PGBOUNCER) {
  console.warn(
    '[pgbouncer] SKIPPED: no pgbouncer binary on PATH or in /usr/sbin; install the Debian package ' +
      '`pgbouncer` (apt-get install -y pgbouncer) to run the pooling suites.',
  );
}
const describeWithPgBouncer = PGBOUNCER ? describe : describe.skip;

type Tenant = NotesTenant & { slug: string };

/** Both ways the app may talk to PostgreSQL: one statement at a time, or pg pipeline mode. */
const MODES = [
  { name: 'serial', tag: 's', pipeline: false },
  { name: 'pipelined', tag: 'p', pipeline: true },
] as const;

/** Seeds a tenant with one note `<slug>:seed` carrying one tag `<slug>-tag`. */
async function seededTenant(owner: Client, slug: string): Promise<Tenant> {
  const tenant = await notesTenant(owner, slug, [`${slug}:seed`]);
  await inTenant(owner, tenant.id, () =>
    owner.query(
      `INSERT INTO lib_test.note_tags (tenant_id, note_id, label)
       SELECT tenant_id, id, $2 FROM lib_test.notes WHERE tenant_id = $1`,
      [tenant.id, `${slug}-tag`],
    ),
  );
  return { slug, ...tenant };
}

/** What a raw pg client sees on a server connection, outside any transaction. */
async function outsideAnyTransaction(url: string) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT pg_backend_pid() AS pid,
              current_setting('app.tenant_id', true) AS "tenantId",
              current_setting('app.user_id', true) AS "userId",
              current_setting('statement_timeout') AS "statementTimeout",
              (SELECT count(*)::int FROM lib_test.notes) AS "visibleNotes"`,
    );
    return rows[0] as {
      pid: number;
      tenantId: string | null;
      userId: string | null;
      statementTimeout: string;
      visibleNotes: number;
    };
  } finally {
    await client.end();
  }
}

describeWithPgBouncer('Isolation through PgBouncer in transaction mode', () => {
  const database = testUrl('database');
  const single = `${database}_single`;
  let bouncer: RunningPgBouncer;
  let owner: Client;
  let admin: Client;

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    await ensureNotesSchema(owner);
    bouncer = await startPgBouncer({
      binary: PGBOUNCER!,
      urls: [testUrl('appUrl'), testUrl('ownerUrl')],
      defaultPoolSize: 2,
      aliases: [{ name: single, poolSize: 1 }],
    });
    console.log(`[pgbouncer] transaction mode on 127.0.0.1:${bouncer.port}\n${bouncer.config}`);
  });

  afterAll(async () => {
    await bouncer?.stop();
    await admin?.end();
    await owner?.end();
  });

  for (const mode of MODES) {
    describe(`1,200 interleaved requests from 24 tenants, 8 app connections on 2 server connections (${mode.name})`, () => {
      let app: INestApplication;
      let url: string;
      const tenants: Tenant[] = [];
      const probes: Client[] = [];

      beforeAll(async () => {
        for (let i = 0; i < 2; i++) {
          probes.push(new Client({ connectionString: bouncer.via(testUrl('appUrl')) }));
          await probes[i].connect();
        }
        app = await createNotesApp({
          databaseUrl: bouncer.via(testUrl('appUrl')),
          poolSize: 8,
          pipeline: mode.pipeline,
        });
        await app.listen(0, '127.0.0.1');
        url = await app.getUrl();
        for (let i = 0; i < 24; i++) tenants.push(await seededTenant(owner, `pgb${mode.tag}${i}`));
      });

      afterAll(async () => {
        await app?.close();
        for (const probe of probes) await probe.end();
      });

      it('keeps every returned and written row inside the caller tenant (seeded, replay with TEST_SEED)', async () => {
        const seed = seedFromEnv();
        console.log(`[pgbouncer concurrency ${mode.name}] TEST_SEED=${seed}`);
        const random = prng(seed);
        const reads = [
          'slow',
          'repository',
          'manager',
          'query-builder',
          'raw',
          'relations',
          'tags-eager-join',
          // pg refuses cursors on a pipelined connection (the library says so): streams run serial.
          ...(mode.pipeline ? [] : ['stream']),
          'transaction',
          'settings',
          'session',
        ];
        const writes = ['notes', 'insert', 'with-tag'];
        const plan = Array.from({ length: 1200 }, (_, i) => {
          const tenant = tenants[Math.floor(random() * tenants.length)];
          const dice = random();
          const write = dice < 0.3;
          const kinds = write ? writes : dice > 0.95 ? ['probe'] : reads;
          return {
            i,
            tenant,
            write,
            kind: kinds[Math.floor(random() * kinds.length)],
            delay: Math.floor(random() * 40),
            ms: Math.floor(random() * 10),
          };
        });

        const problems: string[] = [];
        const backendPids = new Set<number>();
        const own = (t: Tenant, label: string, values: string[]) => {
          for (const v of values) {
            if (!v.startsWith(`${t.slug}:`)) problems.push(`${label}: ${t.slug} saw ${v}`);
          }
        };
        await Promise.all(
          plan.map(async ({ i, tenant: t, write, kind, delay, ms }) => {
            await new Promise((r) => setTimeout(r, delay));
            const auth = `Bearer ${t.token}`;
            const label = `#${i} ${write ? 'POST' : 'GET'} ${kind}`;
            if (write) {
              const title = `${t.slug}:w${i}`;
              const path = kind === 'notes' ? '/notes' : `/notes/${kind}`;
              const res = await request(url)
                .post(path)
                .set('Authorization', auth)
                .send({ title, tag: `${t.slug}-w${i}` });
              if (res.status !== 201) return problems.push(`${label} -> ${res.status}`);
              if (kind === 'notes' && res.body.title !== title)
                problems.push(`${label} echoed wrong`);
              if (kind === 'insert') own(t, label, res.body as string[]);
              return;
            }
            if (kind === 'probe') {
              // A raw client on the same two server connections, outside any transaction.
              const { rows } = await probes[i % probes.length].query(
                `SELECT current_setting('app.tenant_id', true) AS "tenantId",
                        (SELECT count(*)::int FROM lib_test.notes) AS notes`,
              );
              if (rows[0].tenantId || rows[0].notes) {
                problems.push(`${label}: between transactions saw ${JSON.stringify(rows[0])}`);
              }
              return;
            }
            const path = kind === 'slow' ? `/notes/slow?ms=${ms}` : `/notes/${kind}`;
            const res = await request(url).get(path).set('Authorization', auth);
            if (res.status !== 200) return problems.push(`${label} -> ${res.status}`);
            if (kind === 'slow') return own(t, label, [...res.body.first, ...res.body.second]);
            if (kind === 'settings' || kind === 'session') {
              if (kind === 'session') backendPids.add(res.body.pid as number);
              if (res.body.tenantId !== t.id || res.body.userId !== t.userId) {
                problems.push(`${label}: ${t.slug} ran as ${JSON.stringify(res.body)}`);
              }
              return;
            }
            own(t, label, res.body as string[]);
          }),
        );
        expect(problems).toEqual([]);
        // Eight app connections were multiplexed onto at most two PostgreSQL backends.
        expect(backendPids.size).toBeGreaterThanOrEqual(1);
        expect(backendPids.size).toBeLessThanOrEqual(2);

        for (const t of tenants) {
          const mine = plan.filter((p) => p.write && p.tenant === t);
          const expectedTitles = [`${t.slug}:seed`, ...mine.map((p) => `${t.slug}:w${p.i}`)].sort();
          const expectedTags = [
            `${t.slug}-tag`,
            ...mine.filter((p) => p.kind === 'with-tag').map((p) => `${t.slug}-w${p.i}`),
          ].sort();
          const tags = await inTenant(owner, t.id, async () =>
            (await owner.query('SELECT label FROM lib_test.note_tags ORDER BY label')).rows.map(
              (r) => r.label as string,
            ),
          );
          expect({ tenant: t.slug, titles: await storedTitles(owner, t.id), tags }).toEqual({
            tenant: t.slug,
            titles: expectedTitles,
            tags: expectedTags,
          });
        }
      });
    });

    describe(`one shared server connection carries nothing from a failed request to the next (pool poisoning, ${mode.name})`, () => {
      let app: INestApplication;
      let url: string;
      let a: Tenant;
      let b: Tenant;
      let c: Tenant;
      let defaultTimeout: string;

      beforeAll(async () => {
        app = await createNotesApp({
          databaseUrl: bouncer.via(testUrl('appUrl'), single),
          poolSize: 4,
          pipeline: mode.pipeline,
        });
        await app.listen(0, '127.0.0.1');
        url = await app.getUrl();
        a = await seededTenant(owner, `poison${mode.tag}-a`);
        b = await seededTenant(owner, `poison${mode.tag}-b`);
        c = await seededTenant(owner, `poison${mode.tag}-c`);
        const direct = await connect('app');
        defaultTimeout = (await direct.query('SHOW statement_timeout')).rows[0].statement_timeout;
        await direct.end();
        for (const t of [a, b, c]) await get(app, '/notes/noop', t.token).expect(200);
      });

      afterAll(async () => {
        await app?.close();
      });

      /** Other tenants' requests see their own context and rows, on the very same server backend. */
      async function othersAreClean() {
        const sessions = await Promise.all(
          [b, c].map(async (t) => {
            const session = (await get(app, '/notes/session', t.token).expect(200)).body;
            expect(session).toEqual({
              pid: session.pid,
              tenantId: t.id,
              userId: t.userId,
              role: 'member',
            });
            expect((await get(app, '/notes/settings', t.token).expect(200)).body.tenantId).toBe(
              t.id,
            );
            expect((await get(app, '/notes/raw', t.token).expect(200)).body).toEqual([
              `${t.slug}:seed`,
            ]);
            return session.pid as number;
          }),
        );
        const outside = await outsideAnyTransaction(bouncer.via(testUrl('appUrl'), single));
        expect(['', null]).toContain(outside.tenantId);
        expect(['', null]).toContain(outside.userId);
        expect(outside.statementTimeout).toBe(defaultTimeout);
        expect(outside.visibleNotes).toBe(0);
        expect(sessions).toEqual([outside.pid, outside.pid]);
      }

      it('after a request fails mid-transaction, the next tenants see only their own context and rows', async () => {
        const res = await post(app, '/notes/fail-after-write', a.token, {
          title: `${a.slug}:doomed`,
        });
        expect(res.status).toBe(500);
        expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
        await othersAreClean();
        expect(await storedTitles(owner, a.id)).toEqual([`${a.slug}:seed`]);
      });

      it('refuses session state (SET, set_config(..., false), SET ROLE, advisory lock); the next tenants see a clean server connection', async () => {
        for (const sql of [
          'SET statement_timeout = 12345',
          "SELECT set_config('app.tenant_id', $1, false)",
          'SET ROLE app_user',
          'SELECT pg_advisory_lock(42)',
        ]) {
          const res = await post(app, '/notes/session-state', a.token, { sql });
          expect({ sql, status: res.status }).toEqual({ sql, status: 500 });
          await othersAreClean();
        }
        const probe = new Client({ connectionString: bouncer.via(testUrl('appUrl'), single) });
        await probe.connect();
        try {
          const { rows } = await probe.query(
            `SELECT current_setting('role') AS role,
                    (SELECT count(*)::int FROM pg_locks
                      WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks`,
          );
          expect(rows).toEqual([{ role: 'none', locks: 0 }]);
        } finally {
          await probe.end();
        }
      });

      it('after a statement_timeout, the next tenants see their own context and the default timeout', async () => {
        const res = await post(app, '/notes/statement-timeout', a.token);
        expect(res.status).toBe(503);
        expect(res.body).toEqual({
          statusCode: 503,
          message: 'database unavailable, retry the request',
          error: 'Service Unavailable',
        });
        await othersAreClean();
      });

      it('after the HTTP client disconnects mid-transaction, the next tenants see only their own rows', async () => {
        const marker = 'notes:sleep-in-transaction';
        const inFlight = abortableGet(url, '/notes/sleep-in-transaction?seconds=0.4', a.token);
        await pollUntil('the request to sleep inside its transaction', async () =>
          (await activeBackends(admin, database, marker)).length === 1 ? true : undefined,
        );
        inFlight.abort();
        expect(await inFlight.outcome).toMatch(/^error /);
        await othersAreClean();
        await pollUntil('the abandoned transaction to end', async () =>
          (await activeBackends(admin, database, marker)).length === 0 ? true : undefined,
        );
        await othersAreClean();
        expect((await get(app, '/notes/raw', a.token).expect(200)).body).toEqual([
          `${a.slug}:seed`,
        ]);
      });
    });
  }

  describe('a request role (requestRoleFunction) ends with its transaction on a shared server connection', () => {
    let app: INestApplication;
    let appRole: string;
    let reader: string;
    let t: Tenant;

    beforeAll(async () => {
      appRole = new URL(testUrl('appUrl')).username;
      reader = `${appRole}_pgb_reader`;
      await ensureRequestRole(owner, reader, { appRole, tables: ['lib_test.notes'] });
      await owner.query(`
        CREATE FUNCTION lib_test.pgb_request_role() RETURNS text LANGUAGE sql STABLE AS $$
          SELECT CASE current_setting('app.role', true) WHEN 'admin' THEN '${reader}' END
        $$`);
      await owner.query(`GRANT EXECUTE ON FUNCTION lib_test.pgb_request_role() TO "${appRole}"`);
      t = await seededTenant(owner, 'pgb-role');
      app = await createNotesApp({
        databaseUrl: bouncer.via(testUrl('appUrl'), single),
        poolSize: 4,
        pipeline: true,
        tenancy: { requestRoleFunction: 'lib_test.pgb_request_role', preparedSettings: false },
      });
    });

    afterAll(async () => {
      await app?.close();
      await owner.query(`DROP FUNCTION lib_test.pgb_request_role()`);
      await dropRequestRole(owner, reader, { appRole, tables: ['lib_test.notes'] });
    });

    it("an admin's transaction runs as the reader, the next request and a raw client as the app role", async () => {
      const roles: string[] = [];
      const pids = new Set<number>();
      for (const token of [t.adminToken, t.token, t.adminToken, t.token]) {
        const body = (await get(app, '/notes/db-role', token).expect(200)).body;
        roles.push(body.dbRole);
        pids.add(body.pid);
      }
      expect(roles).toEqual([reader, appRole, reader, appRole]);
      const raw = new Client({ connectionString: bouncer.via(testUrl('appUrl'), single) });
      await raw.connect();
      try {
        const { rows } = await raw.query(`SELECT pg_backend_pid() AS pid, current_user AS role`);
        expect(rows).toEqual([{ pid: [...pids][0], role: appRole }]);
      } finally {
        await raw.end();
      }
      expect(pids.size).toBe(1);
    });
  });

  describe('negative control at the pg level: two clients on one server connection', () => {
    let a: Tenant;
    let first: Client;
    let second: Client;

    beforeAll(async () => {
      a = await seededTenant(owner, 'control-a');
      first = new Client({ connectionString: bouncer.via(testUrl('appUrl'), single) });
      second = new Client({ connectionString: bouncer.via(testUrl('appUrl'), single) });
      await first.connect();
      await second.connect();
      // Start from a clean server connection whatever earlier suites left on it.
      await first.query('RESET ALL');
    });

    afterAll(async () => {
      await first?.end();
      await second?.end();
    });

    const pidAndTenant = async (client: Client) =>
      (
        await client.query(
          `SELECT pg_backend_pid() AS pid, current_setting('app.tenant_id', true) AS "tenantId"`,
        )
      ).rows[0] as { pid: number; tenantId: string | null };

    it('set_config(..., true) inside BEGIN/COMMIT leaves nothing for the next client', async () => {
      await first.query('BEGIN');
      await first.query(`SELECT set_config('app.tenant_id', $1, true)`, [a.id]);
      const inside = await pidAndTenant(first);
      expect(inside.tenantId).toBe(a.id);
      expect((await first.query('SELECT title FROM lib_test.notes')).rows).toEqual([
        { title: 'control-a:seed' },
      ]);
      await first.query('COMMIT');

      const next = await pidAndTenant(second);
      expect(next.pid).toBe(inside.pid);
      expect(['', null]).toContain(next.tenantId);
      expect((await second.query('SELECT title FROM lib_test.notes')).rows).toEqual([]);
    });

    it('a session-level SET (never used by the library) leaks to the next client: the harness sees it', async () => {
      // A literal because SET takes no bind parameters; the id is a uuid this test generated.
      await first.query(`SET app.tenant_id = '${a.id}'`);
      try {
        const setter = await pidAndTenant(first);
        const next = await pidAndTenant(second);
        expect(next).toEqual({ pid: setter.pid, tenantId: a.id });
        expect((await second.query('SELECT title FROM lib_test.notes')).rows).toEqual([
          { title: 'control-a:seed' },
        ]);
      } finally {
        await second.query('RESET app.tenant_id');
      }
      expect(['', null]).toContain((await pidAndTenant(first)).tenantId);
    });
  });
});
