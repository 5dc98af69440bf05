import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import { connect, inTenant } from '../support/db';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import {
  isSettingsStatement,
  SETTINGS_STATEMENTS,
  StatementCounter,
} from '../support/statement-counter';
import { testUrl } from '../support/test-env';
import { NOTES_SECRET } from '../tenancy/fixtures/notes.app';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';
import { notesTenant, NotesTenant, storedTitles } from '../tenancy/fixtures/notes.harness';
import { createNotesGraphQLApp, NOTES_GRAPHQL_PATH } from './notes-graphql.app';

interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions: Record<string, unknown>;
}
interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: GqlError[];
}
interface Tx {
  tx: string;
  tenant: string;
}
interface TreeNote {
  title: string;
  tx: Tx;
  tags: { label: string; tx: Tx; batch: Tx & { size: number } }[];
}

const codes = (body: GqlBody) => (body.errors ?? []).map((e) => e.extensions.code);

/** The GraphQL wiring of libs/tenancy/docs/transports.md (GraphQL): the same checks on every HTTP platform. */
for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyGraphQLModule: one tenant transaction per GraphQL request (${adapter})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    let b: NotesTenant;
    let aNotes: Record<string, string>;
    const counter = new StatementCounter();

    /** POSTs one operation; every error must carry exactly a code in its extensions (no stack). */
    async function gql(token: string | undefined, query: string, variables?: object) {
      const req = request(app.getHttpServer()).post(NOTES_GRAPHQL_PATH);
      if (token) req.set('Authorization', `Bearer ${token}`);
      const res = await req.send({ query, variables }).expect(200);
      const body = res.body as GqlBody;
      for (const error of body.errors ?? [])
        expect(Object.keys(error.extensions)).toEqual(['code']);
      return body;
    }

    /** Whether PostgreSQL committed, aborted or is still running transaction `tx`. */
    async function txStatus(tx: string): Promise<string> {
      return (await owner.query('SELECT txid_status($1::bigint) AS s', [tx])).rows[0].s as string;
    }

    /** The ids of tenant's notes by title, read as the owner inside that tenant. */
    async function noteIds(tenantId: string): Promise<Record<string, string>> {
      const { rows } = await inTenant(owner, tenantId, () =>
        owner.query<{ id: string; title: string }>('SELECT id, title FROM lib_test.notes'),
      );
      return Object.fromEntries(rows.map((r) => [r.title, r.id]));
    }

    beforeAll(async () => {
      owner = await connect('owner');
      await ensureNotesSchema(owner);
      app = await createNotesGraphQLApp({ databaseUrl: testUrl('appUrl'), adapter });
      a = await notesTenant(owner, `gql-a-${adapter}`, ['a-first', 'a-second', 'a-third']);
      b = await notesTenant(owner, `gql-b-${adapter}`, ['b-only']);
      aNotes = await noteIds(a.id);
      const tags: [string, string][] = [
        ['a-first', 'blue'],
        ['a-first', 'red'],
        ['a-second', 'green'],
      ];
      await inTenant(owner, a.id, async () => {
        for (const [title, label] of tags) {
          await owner.query(
            'INSERT INTO lib_test.note_tags (tenant_id, note_id, label) VALUES ($1, $2, $3)',
            [a.id, aNotes[title], label],
          );
        }
      });
      counter.install();
    });

    afterAll(async () => {
      counter.uninstall();
      await app?.close();
      await owner?.end();
    });

    /**
     * The statements of a request without the tenant registry lookup of the authentication (its own
     * short transaction, cached per tenant for a few seconds), checked to be exactly that lookup.
     */
    function withoutStatusLookup(statements: string[]): string[] {
      const i = statements.findIndex((s) => s.includes('FROM tenancy.tenants'));
      if (i < 0) return statements;
      const begin = i - 1 - SETTINGS_STATEMENTS;
      expect(statements[begin]).toBe('START TRANSACTION');
      expect(statements.slice(begin + 1, i).every(isSettingsStatement)).toBe(true);
      expect(statements[i + 1]).toBe('COMMIT');
      return [...statements.slice(0, begin), ...statements.slice(i + 2)];
    }

    const TREE = `{
      probe { tx tenant }
      notes { title tx { tx tenant } tags { label tx { tx tenant } batch { tx tenant size } } }
    }`;

    /** Every transaction report of a TREE answer: the root's, each note's, each tag's and batch's. */
    function reports(data: { probe: Tx; notes: TreeNote[] }): Tx[] {
      return [
        data.probe,
        ...data.notes.flatMap((n) => [n.tx, ...n.tags.flatMap((t) => [t.tx, t.batch])]),
      ].map(({ tx, tenant }) => ({ tx, tenant }));
    }

    it('runs the root field, the field resolvers and one DataLoader batch in one committed transaction of the caller', async () => {
      const statements = await counter.during(async () => {
        const body = await gql(a.token, TREE);
        expect(body.errors).toBeUndefined();
        const data = body.data as { probe: Tx; notes: TreeNote[] };
        expect(data.notes.map((n) => [n.title, n.tags.map((t) => t.label)])).toEqual([
          ['a-first', ['blue', 'red']],
          ['a-second', ['green']],
          ['a-third', []],
        ]);
        const tx = data.probe.tx;
        expect(tx).toMatch(/^[0-9]+$/);
        expect(reports(data)).toEqual(Array(1 + 3 + 3 * 2).fill({ tx, tenant: a.id }));
        expect(data.notes.flatMap((n) => n.tags.map((t) => t.batch.size))).toEqual([3, 3, 3]);
        expect(await txStatus(tx)).toBe('committed');
      });
      const own = withoutStatusLookup(statements);
      expect(own[0]).toBe('START TRANSACTION');
      expect(own.slice(1, 1 + SETTINGS_STATEMENTS).every(isSettingsStatement)).toBe(true);
      expect(own.slice(-2)).toEqual(['COMMIT', 'SELECT txid_status($1::bigint) AS s']);
      const inside = own.slice(1 + SETTINGS_STATEMENTS, -2);
      expect(inside.filter((s) => s.includes('txid_current()'))).toHaveLength(1 + 3 + 3 + 1);
      expect(inside.filter((s) => s.includes('FROM "lib_test".'))).toHaveLength(2);
      expect(inside).toHaveLength(1 + 3 + 3 + 1 + 2);
    });

    it('gives two requests two transactions, concurrent ones each with its own tenant', async () => {
      const [first, other] = await Promise.all([
        gql(a.token, '{ probe { tx tenant } }'),
        gql(b.token, '{ probe { tx tenant } }'),
      ]);
      const second = await gql(a.token, '{ probe { tx tenant } }');
      const probes = [first, other, second].map((body) => (body.data as { probe: Tx }).probe);
      expect(probes.map((p) => p.tenant)).toEqual([a.id, b.id, a.id]);
      expect(new Set(probes.map((p) => p.tx)).size).toBe(3);
      for (const { tx } of probes) expect(await txStatus(tx)).toBe('committed');
    });

    it("answers null and NOT_FOUND for another tenant's note, and lists exactly each tenant's notes", async () => {
      const id = aNotes['a-first'];
      const refused = await gql(b.token, `query($id: ID!) { note(id: $id) { id title } }`, { id });
      expect(refused.data).toEqual({ note: null });
      expect(refused.errors?.map((e) => [e.message, e.path, e.extensions.code])).toEqual([
        ['note not found', ['note'], 'NOT_FOUND'],
      ]);
      const own = await gql(a.token, `query($id: ID!) { note(id: $id) { id title } }`, { id });
      expect(own).toEqual({ data: { note: { id, title: 'a-first' } } });
      const lists = await Promise.all([
        gql(a.token, '{ notes { title tags { label } } }'),
        gql(b.token, '{ notes { title tags { label } } }'),
      ]);
      expect(lists.map((body) => body.data)).toEqual([
        {
          notes: [
            { title: 'a-first', tags: [{ label: 'blue' }, { label: 'red' }] },
            { title: 'a-second', tags: [{ label: 'green' }] },
            { title: 'a-third', tags: [] },
          ],
        },
        { notes: [{ title: 'b-only', tags: [] }] },
      ]);
    });

    it('answers UNAUTHENTICATED with no stack on every tenant-scoped field for a missing, forged, malformed or expired token, sending no statement', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { tenant_id: a.id, sub: a.userId, role: 'admin' };
      const tokens: [string, string | undefined, string][] = [
        ['missing', undefined, 'missing bearer token'],
        [
          'forged',
          signToken('another-secret-0123456789-abcdefghijklmnop', {
            tenantId: a.id,
            userId: a.userId,
            role: 'admin',
          }),
          'invalid token signature',
        ],
        ['malformed', 'not-a-jwt', 'malformed token'],
        [
          'expired',
          sign({ ...claims, exp: now - 60 }, NOTES_SECRET, { algorithm: 'HS256' }),
          'token expired',
        ],
      ];
      for (const [kind, token, message] of tokens) {
        let body: GqlBody = {};
        const statements = await counter.during(async () => {
          body = await gql(
            token,
            `query($id: ID!) { ping probe { tx } notes { title } note(id: $id) { title } }`,
            { id: aNotes['a-first'] },
          );
        });
        expect([kind, body.data]).toEqual([
          kind,
          { ping: 'pong', probe: null, notes: null, note: null },
        ]);
        expect(body.errors?.map((e) => [e.path, e.message, e.extensions]).sort()).toEqual([
          [['note'], message, { code: 'UNAUTHENTICATED' }],
          [['notes'], message, { code: 'UNAUTHENTICATED' }],
          [['probe'], message, { code: 'UNAUTHENTICATED' }],
        ]);
        expect([kind, statements]).toEqual([kind, []]);
      }
    });

    it('refuses a mutation without a valid token as UNAUTHENTICATED, writing nothing', async () => {
      for (const token of [undefined, 'not-a-jwt']) {
        const body = await gql(token, `mutation { addNote(title: "anonymous") { id } }`);
        expect(body.data).toEqual({ addNote: null });
        expect(codes(body)).toEqual(['UNAUTHENTICATED']);
      }
      expect(await storedTitles(owner, a.id)).toEqual(['a-first', 'a-second', 'a-third']);
    });

    it("answers FORBIDDEN to a member's @Roles('admin') mutation (the note stays), and an admin's is committed", async () => {
      const added = await gql(a.adminToken, `mutation { addNote(title: "a-doomed") { id } }`);
      const doomed = (added.data as { addNote: { id: string } }).addNote.id;
      expect(await storedTitles(owner, a.id)).toEqual([
        'a-doomed',
        'a-first',
        'a-second',
        'a-third',
      ]);
      const refused = await gql(a.token, `mutation($id: ID!) { deleteNote(id: $id) }`, {
        id: doomed,
      });
      expect(refused.data).toBeNull();
      expect(refused.errors?.map((e) => [e.message, e.extensions.code])).toEqual([
        ['requires role: admin', 'FORBIDDEN'],
      ]);
      expect(await storedTitles(owner, a.id)).toEqual([
        'a-doomed',
        'a-first',
        'a-second',
        'a-third',
      ]);
      const done = await gql(a.adminToken, `mutation($id: ID!) { deleteNote(id: $id) }`, {
        id: doomed,
      });
      expect(done).toEqual({ data: { deleteNote: true } });
      expect(await storedTitles(owner, a.id)).toEqual(['a-first', 'a-second', 'a-third']);
    });

    it('commits every field of a mutation that succeeds', async () => {
      const body = await gql(
        b.token,
        `mutation { one: addNote(title: "b-one") { title } two: addNote(title: "b-two") { title } }`,
      );
      expect(body).toEqual({ data: { one: { title: 'b-one' }, two: { title: 'b-two' } } });
      expect(await storedTitles(owner, b.id)).toEqual(['b-one', 'b-only', 'b-two']);
    });

    it("rolls back the first field's write when the second field throws NotFoundException", async () => {
      const body = await gql(
        a.adminToken,
        `mutation($id: ID!) { kept: addNote(title: "a-rolled-back") { id } gone: deleteNote(id: $id) }`,
        { id: randomUUID() },
      );
      expect(body.data).toBeNull();
      expect(body.errors?.map((e) => [e.message, e.path, e.extensions.code])).toEqual([
        ['note not found', ['gone'], 'NOT_FOUND'],
      ]);
      expect(await storedTitles(owner, a.id)).toEqual(['a-first', 'a-second', 'a-third']);
    });

    it("rolls back the first field's write when the second field hits a foreign key violation", async () => {
      const body = await gql(
        a.token,
        `mutation($id: ID!) { kept: addNote(title: "a-orphaned") { id } tag: addTag(noteId: $id, label: "x") }`,
        { id: randomUUID() },
      );
      expect(body.data).toBeNull();
      expect(body.errors?.map((e) => [e.message, e.path, e.extensions.code])).toEqual([
        ['a row this one refers to does not exist', ['tag'], 'CONFLICT'],
      ]);
      expect(await storedTitles(owner, a.id)).toEqual(['a-first', 'a-second', 'a-third']);
    });

    it("rolls back the first field's write when a member's second field is FORBIDDEN", async () => {
      const body = await gql(
        a.token,
        `mutation($id: ID!) { kept: addNote(title: "a-member") { id } gone: deleteNote(id: $id) }`,
        { id: aNotes['a-third'] },
      );
      expect(body.data).toBeNull();
      expect(codes(body)).toEqual(['FORBIDDEN']);
      expect(await storedTitles(owner, a.id)).toEqual(['a-first', 'a-second', 'a-third']);
    });
  });
}
