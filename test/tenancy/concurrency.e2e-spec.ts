import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { HttpAdapterName } from '../support/http-adapter';
import { prng } from '../support/prng';
import { notesSetup, notesTenant, NotesTenant } from './fixtures/notes.harness';

/** Both pg modes on Express, and Fastify in the serial one (how pg sends does not depend on it). */
const MODES: { adapter: HttpAdapterName; pipeline: boolean }[] = [
  { adapter: 'express', pipeline: false },
  { adapter: 'express', pipeline: true },
  { adapter: 'fastify', pipeline: false },
];

/** 500 interleaved requests from 20 tenants on a pool of 4: no response holds another tenant's row. */
for (const { adapter, pipeline } of MODES) {
  describe(`TenancyModule: concurrent requests never cross tenants (${pipeline ? 'pipelined' : 'serial'}, ${adapter})`, () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    let owner: Client;
    let app: INestApplication;
    let url: string;
    const tenants: (NotesTenant & { slug: string })[] = [];

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ adapter, poolSize: 4, pipeline }));
      await app.listen(0, '127.0.0.1');
      url = await app.getUrl();
      for (let i = 0; i < 20; i++) {
        const slug = `conc${i}`;
        tenants.push({ slug, ...(await notesTenant(owner, slug, [`${slug}:seed`])) });
      }
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it('keeps every read and write inside the caller tenant (seeded, replay with TEST_SEED)', async () => {
      console.log(`[concurrency] TEST_SEED=${seed}`);
      const random = prng(seed);
      const plan = Array.from({ length: 500 }, (_, i) => ({
        tenant: tenants[Math.floor(random() * tenants.length)],
        write: random() < 0.3,
        delay: Math.floor(random() * 15),
        i,
      }));
      const foreign: string[] = [];
      await Promise.all(
        plan.map(async ({ tenant, write, delay, i }) => {
          await new Promise((r) => setTimeout(r, delay));
          const auth = `Bearer ${tenant.token}`;
          if (write) {
            const res = await request(url)
              .post('/notes')
              .set('Authorization', auth)
              .send({ title: `${tenant.slug}:w${i}` });
            if (res.status !== 201) foreign.push(`write ${i} -> ${res.status}`);
            return;
          }
          const res = await request(url).get(`/notes/slow?ms=${delay}`).set('Authorization', auth);
          if (res.status !== 200) return foreign.push(`read ${i} -> ${res.status}`);
          for (const title of [...res.body.first, ...res.body.second] as string[]) {
            if (!title.startsWith(`${tenant.slug}:`)) foreign.push(`${tenant.slug} saw ${title}`);
          }
        }),
      );
      expect(foreign).toEqual([]);
      for (const t of tenants) {
        await owner.query('BEGIN');
        await owner.query(`SELECT set_config('app.tenant_id', $1, true)`, [t.id]);
        const rows = (await owner.query('SELECT title FROM lib_test.notes')).rows.map(
          (r) => r.title as string,
        );
        await owner.query('COMMIT');
        const expected = plan.filter((p) => p.write && p.tenant === t).length + 1;
        expect({
          tenant: t.slug,
          count: rows.length,
          foreign: rows.filter((x) => !x.startsWith(`${t.slug}:`)),
        }).toEqual({
          tenant: t.slug,
          count: expected,
          foreign: [],
        });
      }
    });
  });
}
