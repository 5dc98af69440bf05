import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { socketWritesDuring, StatementCounter } from '../support/statement-counter';
import { get, notesSetup, notesTenant, NotesTenant, post } from './fixtures/notes.harness';

const SET_CONFIG =
  'SELECT set_config($1, $2, true), set_config($3, $4, true), set_config($5, $6, true), set_config($7, $8, true)';

/**
 * Round trips, counted at the pg client: a tenant-scoped request sends exactly one statement more
 * than the same handler written by hand inside a transaction (the set_config), and none for a
 * handler that runs no query.
 */
const MODES = [
  { name: 'serial', pipeline: false, pgWriteBatching: false },
  { name: 'pipelined', pipeline: true, pgWriteBatching: false },
  { name: 'pipelined, pgWriteBatching', pipeline: true, pgWriteBatching: true },
];

for (const { name, pipeline, pgWriteBatching } of MODES) {
  describe(`TenancyModule: round trips per request (${name})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    const counter = new StatementCounter();

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({
        pipeline,
        tenancy: { pgWriteBatching, contextStatement: 'set-config' },
      }));
      a = await notesTenant(owner, 'rt-a', ['a-one']);
      await get(app, '/notes/noop', a.token).expect(200);
      counter.install();
    });

    afterAll(async () => {
      counter.uninstall();
      await app.close();
      await owner.end();
    });

    it('sends no statement for a handler that runs no query', async () => {
      expect(await counter.during(() => get(app, '/notes/noop', a.token).expect(200))).toEqual([]);
    });

    it('sends BEGIN, one set_config, the query and COMMIT for a one-query read (baseline in a transaction: 3)', async () => {
      const statements = await counter.during(() =>
        get(app, '/notes/repository', a.token).expect(200),
      );
      expect(statements).toHaveLength(4);
      expect(statements[0]).toBe('START TRANSACTION');
      expect(statements[1]).toBe(SET_CONFIG);
      expect(statements[2]).toMatch(/^SELECT .* FROM "lib_test"\."notes"/);
      expect(statements[3]).toBe('COMMIT');
    });

    it('adds no savepoint to repository.save(): BEGIN, set_config, INSERT, COMMIT', async () => {
      const statements = await counter.during(() =>
        post(app, '/notes', a.token, { title: 'rt' }).expect(201),
      );
      expect(statements.map((s) => s.split(' ')[0])).toEqual([
        'START',
        'SELECT',
        'INSERT',
        'COMMIT',
      ]);
      expect(statements[1]).toBe(SET_CONFIG);
    });

    if (pipeline) {
      it(`writes BEGIN, the settings and the first query ${pgWriteBatching ? 'to the socket at once (then COMMIT)' : 'in several writes without pgWriteBatching'}`, async () => {
        let statements: string[] = [];
        const writes = await socketWritesDuring(async () => {
          statements = await counter.during(() =>
            get(app, '/notes/repository', a.token).expect(200),
          );
        });
        expect(statements).toHaveLength(4);
        // Unbatched: pg calls write() 12 times (START, 5 messages each for the settings and the
        // SELECT, COMMIT), which reach the socket as several writes; the opt-in batching holds
        // them until the next tick: one write for the flight, one for the COMMIT.
        if (pgWriteBatching) expect(writes).toBe(2);
        else expect(writes).toBeGreaterThan(2);
      });
    }

    it('writes the settings once per request, however many queries run', async () => {
      const statements = await counter.during(() =>
        get(app, '/notes/slow?ms=1', a.token).expect(200),
      );
      expect(statements.filter((s) => s === SET_CONFIG)).toHaveLength(1);
      expect(statements).toHaveLength(5);
    });

    it('never sends a session-level SET and never splices a value into SQL', async () => {
      const statements = await counter.during(async () => {
        await get(app, '/notes/settings', a.token).expect(200);
        await post(app, '/notes', a.token, { title: 'rt-2' }).expect(201);
      });
      expect(
        statements.filter(
          (s) => /^\s*SET\s/i.test(s) && !/^\s*SET\s+(LOCAL|TRANSACTION)\s/i.test(s),
        ),
      ).toEqual([]);
      expect(statements.join('\n')).not.toContain(a.id);
      expect(statements.join('\n')).not.toContain(a.userId);
    });
  });
}

/** The four SET LOCAL statements of `contextStatement: 'set-local'` for a tenant of the fixture. */
function setLocals(tenant: NotesTenant, requestId: string): string[] {
  return [
    `SET LOCAL "app"."tenant_id" = '${tenant.id}'`,
    `SET LOCAL "app"."user_id" = '${tenant.userId}'`,
    `SET LOCAL "app"."role" = 'member'`,
    `SET LOCAL "app"."request_id" = '${requestId}'`,
  ];
}

for (const pipeline of [false, true]) {
  describe(`contextStatement 'set-local': the context as SET LOCAL statements (${pipeline ? 'pipelined' : 'serial'})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    let b: NotesTenant;
    const counter = new StatementCounter();

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ pipeline, tenancy: { contextStatement: 'set-local' } }));
      a = await notesTenant(owner, 'sl-a', ['a-one']);
      b = await notesTenant(owner, 'sl-b', ['b-one']);
      await get(app, '/notes/noop', a.token).expect(200);
      await get(app, '/notes/noop', b.token).expect(200);
      counter.install();
    });

    afterAll(async () => {
      counter.uninstall();
      await app.close();
      await owner.end();
    });

    it("sends BEGIN, one SET LOCAL per setting with the request's values, the query and COMMIT", async () => {
      const statements = await counter.during(() =>
        get(app, '/notes/repository', a.token).set('x-request-id', 'sl-req-1').expect(200),
      );
      expect(statements.slice(0, 5)).toEqual(['START TRANSACTION', ...setLocals(a, 'sl-req-1')]);
      expect(statements[5]).toMatch(/^SELECT .* FROM "lib_test"\."notes"/);
      expect(statements.slice(6)).toEqual(['COMMIT']);
    });

    it("gives each request its own tenant's settings and rows, and leaves nothing on the connection", async () => {
      const seenA = await get(app, '/notes/settings', a.token)
        .set('x-request-id', 'sl-a')
        .expect(200);
      const seenB = await get(app, '/notes/settings', b.token)
        .set('x-request-id', 'sl-b')
        .expect(200);
      expect([seenA.body, seenB.body]).toEqual([
        { tenantId: a.id, userId: a.userId, role: 'member', requestId: 'sl-a' },
        { tenantId: b.id, userId: b.userId, role: 'member', requestId: 'sl-b' },
      ]);
      const titles = await get(app, '/notes/repository', b.token).expect(200);
      expect(titles.body).toEqual(['b-one']);
      const outside = await app
        .get(DataSource)
        .query(
          `SELECT COALESCE(current_setting('app.tenant_id', true), '') AS tenant, (SELECT count(*)::int FROM lib_test.notes) AS notes`,
        );
      expect(outside).toEqual([{ tenant: '', notes: 0 }]);
    });

    it('replaces a malformed request id with a fresh uuid instead of sending it', async () => {
      const statements = await counter.during(() =>
        get(app, '/notes/settings', a.token).set('x-request-id', "x'; RESET ALL; --").expect(200),
      );
      const requestIdStatement = statements.find((s) =>
        s.startsWith('SET LOCAL "app"."request_id"'),
      );
      expect(requestIdStatement).toMatch(
        /^SET LOCAL "app"\."request_id" = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'$/,
      );
    });
  });
}
