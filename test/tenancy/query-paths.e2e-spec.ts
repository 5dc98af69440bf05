import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import {
  get,
  notesSetup,
  notesTenant,
  NotesTenant,
  post,
  storedTitles,
} from './fixtures/notes.harness';

/** Two tenants, one table: every TypeORM query path sees and changes only its own tenant's rows. */
for (const adapter of HTTP_ADAPTERS) {
  for (const pipeline of [false, true]) {
    describe(`TenancyModule: every query path carries the tenant (${pipeline ? 'pipelined' : 'serial'}, ${adapter})`, () => {
      let owner: Client;
      let app: INestApplication;
      let a: NotesTenant;
      let b: NotesTenant;

      beforeAll(async () => {
        ({ owner, app } = await notesSetup({ adapter, pipeline }));
        a = await notesTenant(owner, 'paths-a', ['a-one', 'a-two']);
        b = await notesTenant(owner, 'paths-b', ['b-one']);
        await post(app, '/notes/with-tag', a.token, { title: 'a-tagged', tag: 'red' }).expect(201);
        await post(app, '/notes/with-tag', b.token, { title: 'b-tagged', tag: 'blue' }).expect(201);
      });

      afterAll(async () => {
        await app.close();
        await owner.end();
      });

      it.each([
        'repository',
        'manager',
        'query-builder',
        'raw',
        'transaction',
        ...(pipeline ? [] : ['stream']),
      ])('GET /notes/%s returns exactly the caller tenant rows', async (path) => {
        expect((await get(app, `/notes/${path}`, a.token).expect(200)).body).toEqual([
          'a-one',
          'a-tagged',
          'a-two',
        ]);
        expect((await get(app, `/notes/${path}`, b.token).expect(200)).body).toEqual([
          'b-one',
          'b-tagged',
        ]);
      });

      if (pipeline) {
        it('refuses streams on a pipelined connection with a clear error, sending no query', async () => {
          await get(app, '/notes/stream', a.token).expect(500);
          expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual([
            'b-one',
            'b-tagged',
          ]);
        });
      }

      it('loads relations (one-to-many and many-to-one joins) within the tenant only', async () => {
        expect((await get(app, '/notes/relations', a.token).expect(200)).body).toEqual([
          'a-tagged:red',
        ]);
        expect((await get(app, '/notes/tags-eager-join', b.token).expect(200)).body).toEqual([
          'b-tagged:blue',
        ]);
      });

      it('writes the tenant, user and role settings into the request transaction', async () => {
        const res = await get(app, '/notes/settings', a.token)
          .set('x-request-id', 'req-settings-1')
          .expect(200);
        expect(res.body).toEqual({
          tenantId: a.id,
          userId: a.userId,
          role: 'member',
          requestId: 'req-settings-1',
        });
      });

      it('generates a request id when the x-request-id header is missing or malformed', async () => {
        const bad = await get(app, '/notes/settings', a.token)
          .set('x-request-id', "x'; DROP")
          .expect(200);
        expect(bad.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
        const none = await get(app, '/notes/settings', a.token).expect(200);
        expect(none.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
        expect(none.body.requestId).not.toBe(bad.body.requestId);
      });

      it('exposes the context through @CurrentTenant() and TenantContextService.current()', async () => {
        const expected = { tenantId: b.id, userId: b.userId, role: 'admin', requestId: 'req-ctx' };
        expect(
          (
            await get(app, '/notes/context', b.adminToken)
              .set('x-request-id', 'req-ctx')
              .expect(200)
          ).body,
        ).toEqual({
          context: expected,
          role: 'admin',
          current: expected,
        });
      });

      it('saves through repository.save() into the caller tenant only', async () => {
        await post(app, '/notes', a.token, { title: 'a-saved' }).expect(201);
        expect(await storedTitles(owner, a.id)).toContain('a-saved');
        expect(await storedTitles(owner, b.id)).not.toContain('a-saved');
      });

      it('inserts through repository.insert() (no TypeORM transaction of its own)', async () => {
        const res = await post(app, '/notes/insert', b.token, { title: 'b-inserted' }).expect(201);
        expect(res.body).toEqual(['b-inserted', 'b-one', 'b-tagged']);
        expect(await storedTitles(owner, a.id)).not.toContain('b-inserted');
      });

      it('runs @Transactional() (@nestjs-cls/transactional) methods in the tenant', async () => {
        const res = await post(app, '/notes/transactional', b.token, { prefix: 'b-tx' }).expect(
          201,
        );
        expect(res.body).toEqual(['b-inserted', 'b-one', 'b-tagged', 'b-tx-1', 'b-tx-2']);
        expect((await storedTitles(owner, b.id)).filter((t) => t.startsWith('b-tx'))).toEqual([
          'b-tx-1',
          'b-tx-2',
        ]);
      });

      it('keeps nested transactions as savepoints: an inner rollback undoes only the inner work', async () => {
        const res = await post(app, '/notes/nested', a.token, { prefix: 'a-nest' }).expect(201);
        expect(res.body).toContain('a-nest-kept');
        expect(res.body).not.toContain('a-nest-rolled-back');
        const stored = await storedTitles(owner, a.id);
        expect(stored.filter((t) => t.startsWith('a-nest'))).toEqual(['a-nest-kept']);
      });

      it('rolls back everything the handler wrote when it throws', async () => {
        const res = await post(app, '/notes/fail-after-write', a.token, {
          title: 'a-doomed',
        }).expect(500);
        expect(res.body).toEqual({ statusCode: 500, message: 'Internal server error' });
        expect(await storedTitles(owner, a.id)).not.toContain('a-doomed');
      });

      it('refuses to acknowledge a write whose transaction an earlier error aborted', async () => {
        await post(app, '/notes/swallow-error', a.token, { title: 'a-aborted' }).expect(500);
        expect(await storedTitles(owner, a.id)).not.toContain('a-aborted');
      });

      it("maps a policy refusal (writing another tenant's id) to 403 and writes nothing", async () => {
        const res = await post(app, '/notes/smuggle', a.token, {
          tenantId: b.id,
          title: 'smuggled',
        }).expect(403);
        expect(res.body).toEqual({
          statusCode: 403,
          message: 'row-level security denied this operation',
          error: 'Forbidden',
        });
        expect(await storedTitles(owner, b.id)).not.toContain('smuggled');
      });

      it('enforces @Roles() with 403 and lets the listed role through', async () => {
        expect((await get(app, '/notes/admin-only', a.token).expect(403)).body.message).toBe(
          'requires role: admin',
        );
        await get(app, '/notes/admin-only', a.adminToken).expect(200);
      });
    });
  }
}
