import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  SETTINGS_STATEMENTS,
  socketWritesDuring,
  StatementCounter,
} from '../support/statement-counter';
import { TenantTransactionClosedError } from '@app/tenancy';
import { lateResults } from './fixtures/notes.app';
import { get, notesSetup, notesTenant, NotesTenant, post } from './fixtures/notes.harness';

/** One pooled connection shared by all requests: nothing one request set survives into the next. */
/** Serial, pipelined, and pipelined with the settings as a named prepared statement. */
const MODES = [
  { name: 'serial', pipeline: false, preparedSettings: false },
  { name: 'pipelined', pipeline: true, preparedSettings: false },
  { name: 'pipelined, prepared settings', pipeline: true, preparedSettings: true },
];

for (const { name, pipeline, preparedSettings } of MODES) {
  describe(`TenancyModule: a pooled connection carries nothing between requests (pool size 1) (${name})`, () => {
    let owner: Client;
    let app: INestApplication;
    let ds: DataSource;
    let a: NotesTenant;
    let b: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({
        poolSize: 1,
        pipeline,
        tenancy: { preparedSettings, pgWriteBatching: true },
      }));
      ds = app.get(DataSource);
      a = await notesTenant(owner, 'pool-a', ['a-one']);
      b = await notesTenant(owner, 'pool-b', ['b-one']);
      await get(app, '/notes/noop', a.token).expect(200);
      await get(app, '/notes/noop', b.token).expect(200);
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    const outsideSetting = async () =>
      (await ds.query(`SELECT current_setting('app.tenant_id', true) AS t`))[0].t as string | null;

    it('after a request that failed mid-transaction, the next tenant sees only its own rows', async () => {
      await post(app, '/notes/fail-after-write', a.token, { title: 'a-doomed' }).expect(500);
      expect((await get(app, '/notes/repository', b.token).expect(200)).body).toEqual(['b-one']);
      expect((await get(app, '/notes/settings', b.token).expect(200)).body.tenantId).toBe(b.id);
      expect(['', null]).toContain(await outsideSetting());
    });

    it('after a statement_timeout, the connection serves the next tenant cleanly', async () => {
      const res = await post(app, '/notes/statement-timeout', a.token).expect(503);
      expect(res.body).toEqual({
        statusCode: 503,
        message: 'database unavailable, retry the request',
        error: 'Service Unavailable',
      });
      expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
      expect((await ds.query(`SELECT current_setting('statement_timeout') AS t`))[0].t).toBe('0');
    });

    it('a query left running after the response is refused, never run in the next request', async () => {
      const counter = new StatementCounter().install();
      try {
        await post(app, '/notes/dangling', a.token).expect(201);
        await new Promise((r) => setTimeout(r, 120));
        expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
        expect(
          counter.statements.filter((s) => s === 'SELECT title FROM lib_test.notes'),
        ).toHaveLength(1);
      } finally {
        counter.uninstall();
      }
    });

    it("a statement still on its way to pg when the handler returns runs in its own transaction, not the next tenant's", async () => {
      // A's statement waits 100 ms in a BeforeQuery subscriber; B queues for the only connection.
      const resA = post(app, '/notes/in-flight-at-return', a.token)
        .expect(201)
        .then((r) => r);
      await new Promise((r) => setTimeout(r, 20));
      const settingsB = await get(app, '/notes/settings', b.token).expect(200);
      await resA;
      expect(await lateResults.get(a.id)).toEqual({ tenantId: a.id });
      expect(settingsB.body.tenantId).toBe(b.id);
    });

    it('a first statement sent after the handler returned is refused and takes no connection', async () => {
      await post(app, '/notes/first-statement-after-return', a.token).expect(201);
      expect(await lateResults.get(a.id)).toBeInstanceOf(TenantTransactionClosedError);
      // The only connection is back in the pool (checked first: a leak would hang the request)
      // and serves the next tenant.
      const pool = (ds.driver as unknown as { master: { totalCount: number; idleCount: number } })
        .master;
      expect({ total: pool.totalCount, idle: pool.idleCount }).toEqual({ total: 1, idle: 1 });
      expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
    });

    it("a tenant's read-only COMMIT reaches PostgreSQL before the next tenant's BEGIN on the connection", async () => {
      const counter = new StatementCounter().install();
      try {
        let bodies: unknown[] = [];
        const writes = await socketWritesDuring(async () => {
          // B queues for the only connection while A holds it; A's COMMIT is not awaited.
          const slowA = get(app, '/notes/slow?ms=150', a.token)
            .expect(200)
            .then((r) => r);
          await new Promise((resolve) => setTimeout(resolve, 50));
          const fastB = get(app, '/notes/repository', b.token)
            .expect(200)
            .then((r) => r);
          bodies = (await Promise.all([slowA, fastB])).map((r) => r.body as unknown);
        });
        expect(bodies).toEqual([{ first: ['a-one'], second: ['a-one'] }, ['b-one']]);
        const statements = counter.statements.map((t) => t.split(' ')[0]);
        // preparedSettings pins the set_config() form (see the notes fixture).
        const count = preparedSettings ? 1 : SETTINGS_STATEMENTS;
        const settings = Array<string>(count).fill(count === 1 ? 'SELECT' : 'SET');
        expect(statements).toEqual([
          'START',
          ...settings,
          'SELECT',
          'SELECT',
          'COMMIT',
          'START',
          ...settings,
          'SELECT',
          'COMMIT',
        ]);
        // Pipelined: A's first flight, A's second query, A's COMMIT together with B's first
        // flight, B's COMMIT.
        if (pipeline) expect(writes).toBe(4);
      } finally {
        counter.uninstall();
      }
    });

    it(`keeps ${preparedSettings ? 'one' : 'no'} named settings statement on the connection`, async () => {
      await get(app, '/notes/repository', a.token).expect(200);
      await get(app, '/notes/repository', b.token).expect(200);
      const prepared = await ds.query('SELECT name FROM pg_prepared_statements ORDER BY name');
      expect(prepared).toEqual(preparedSettings ? [{ name: 'tenancy_settings' }] : []);
    });

    it('outside any tenant context a query sees an empty tenant setting and no rows', async () => {
      await get(app, '/notes/raw', a.token).expect(200);
      expect(['', null]).toContain(await outsideSetting());
      expect(await ds.query('SELECT count(*)::int AS n FROM lib_test.notes')).toEqual([{ n: 0 }]);
    });
  });
}
