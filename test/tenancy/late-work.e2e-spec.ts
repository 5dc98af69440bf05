import { INestApplication, Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TenantTransactionClosedError } from '@app/tenancy';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import { lateResults } from './fixtures/notes.app';
import {
  get,
  notesSetup,
  notesTenant,
  NotesTenant,
  post,
  storedTitles,
} from './fixtures/notes.harness';
import { inTenant } from '../support/db';

/**
 * Work a request leaves behind never crashes or hangs the service (pool size 1, so reuse is
 * certain). Jest fails the running test on any unhandled rejection, which is how a late lazy load
 * used to end the process.
 */
for (const adapter of HTTP_ADAPTERS) {
  for (const pipeline of [false, true]) {
    describe(`TenancyModule: late work after a scope (pool size 1, ${pipeline ? 'pipelined' : 'serial'}, ${adapter})`, () => {
      let owner: Client;
      let app: INestApplication;
      let ds: DataSource;
      let a: NotesTenant;
      let b: NotesTenant;

      beforeAll(async () => {
        ({ owner, app } = await notesSetup({ adapter, poolSize: 1, pipeline }));
        ds = app.get(DataSource);
        a = await notesTenant(owner, `late-a-${pipeline}`, ['a-one']);
        b = await notesTenant(owner, `late-b-${pipeline}`, ['b-one']);
        for (const t of [a, b]) {
          await inTenant(owner, t.id, () =>
            owner.query(
              `INSERT INTO lib_test.note_tags (tenant_id, note_id, label)
               SELECT tenant_id, id, 'tag-' || title FROM lib_test.notes`,
            ),
          );
        }
      });

      afterAll(async () => {
        await app.close();
        await owner.end();
      });

      const settle = () => new Promise((r) => setTimeout(r, 20));
      const pool = () => {
        const p = (ds.driver as unknown as { master: { totalCount: number; idleCount: number } })
          .master;
        return { total: p.totalCount, idle: p.idleCount };
      };

      it('loads a lazy relation inside the scope', async () => {
        expect((await get(app, '/notes/lazy', a.token).expect(200)).body).toEqual({
          label: 'tag-a-one',
          note: 'a-one',
        });
      });

      it('rejects a lazy relation awaited after the scope ended with TenantTransactionClosedError, and nothing is unhandled', async () => {
        await get(app, '/notes/lazy-late', a.token).expect(200);
        const late = await lateResults.get(a.id);
        await settle();
        expect(late).toBeInstanceOf(TenantTransactionClosedError);
        expect(pool()).toEqual({ total: 1, idle: 1 });
        expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
      });

      if (!pipeline) {
        it('destroys a stream left unconsumed, answers 500, logs the route, and frees the only connection', async () => {
          const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
          try {
            const res = await get(app, '/notes/stream-unconsumed', a.token).expect(500);
            expect(res.body).toEqual({
              statusCode: 500,
              message: 'Internal server error',
              error: 'Internal Server Error',
            });
            expect(
              logged.mock.calls.some(([m]) =>
                String(m).startsWith(
                  'GET /notes/stream-unconsumed (NotesController.streamUnconsumed): a query stream',
                ),
              ),
            ).toBe(true);
          } finally {
            logged.mockRestore();
          }
          expect(pool()).toEqual({ total: 1, idle: 1 });
          expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
          expect((await get(app, '/notes/stream', a.token).expect(200)).body).toEqual(['a-one']);
        });
      }

      it('runs concurrent dataSource.transaction() blocks one after another, children nested in each', async () => {
        const res = await post(app, '/notes/concurrent-transactions', a.token, {
          prefix: `both-${pipeline}`,
        }).expect(201);
        const p = `both-${pipeline}`;
        const expected = [`${p}-1`, `${p}-1-inner`, `${p}-2`, `${p}-2-inner`];
        expect(res.body).toEqual({ settled: [1, 2], titles: expected });
        expect((await storedTitles(owner, a.id)).filter((t) => t.startsWith(p))).toEqual(expected);
      });

      it('rolls back only the concurrent block that failed', async () => {
        const p = `one-${pipeline}`;
        const res = await post(app, '/notes/concurrent-transactions', a.token, {
          prefix: p,
          fail: true,
        }).expect(201);
        expect(res.body).toEqual({
          settled: [1, 'Error: block 2 fails'],
          titles: [`${p}-1`, `${p}-1-inner`],
        });
        expect((await storedTitles(owner, a.id)).filter((t) => t.startsWith(p))).toEqual([
          `${p}-1`,
          `${p}-1-inner`,
        ]);
        expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one']);
      });
    });
  }
}
