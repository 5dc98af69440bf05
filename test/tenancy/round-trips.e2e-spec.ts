import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
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
      ({ owner, app } = await notesSetup({ pipeline, tenancy: { pgWriteBatching } }));
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
