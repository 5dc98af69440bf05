import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { connect } from '../support/db';
import { testUrl } from '../support/test-env';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';
import { notesTenant, NotesTenant, storedTitles } from '../tenancy/fixtures/notes.harness';
import { createNotesGraphQLApp, NOTES_GRAPHQL_PATH } from './notes-graphql.app';

interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions: { code: string } }[];
}

/** TenancyGraphQLModule.forRoot({ readOnlyQueries }): queries read-only, mutations as before. */
describe('TenancyGraphQLModule: readOnlyQueries', () => {
  let owner: Client;
  let readOnly: INestApplication;
  let readWrite: INestApplication;
  let a: NotesTenant;

  async function gql(app: INestApplication, query: string): Promise<GqlBody> {
    const res = await request(app.getHttpServer())
      .post(NOTES_GRAPHQL_PATH)
      .set('Authorization', `Bearer ${a.token}`)
      .send({ query })
      .expect(200);
    return res.body as GqlBody;
  }

  beforeAll(async () => {
    owner = await connect('owner');
    await ensureNotesSchema(owner);
    const databaseUrl = testUrl('appUrl');
    readOnly = await createNotesGraphQLApp({
      databaseUrl,
      adapter: 'express',
      readOnlyQueries: true,
    });
    readWrite = await createNotesGraphQLApp({ databaseUrl, adapter: 'express' });
    a = await notesTenant(owner, 'gql-ro', ['ro-first']);
  });

  afterAll(async () => {
    await readOnly?.close();
    await readWrite?.close();
    await owner?.end();
  });

  it("runs a query operation read-only with the caller's tenant and rows, and only with the option", async () => {
    const query = '{ probe { tenant readOnly } notes { title } }';
    expect(await gql(readOnly, query)).toEqual({
      data: { probe: { tenant: a.id, readOnly: 'on' }, notes: [{ title: 'ro-first' }] },
    });
    expect(await gql(readWrite, query)).toEqual({
      data: { probe: { tenant: a.id, readOnly: 'off' }, notes: [{ title: 'ro-first' }] },
    });
  });

  it('runs a mutation read-write and commits it', async () => {
    const body = await gql(readOnly, 'mutation { addNote(title: "ro-added") { title } }');
    expect(body).toEqual({ data: { addNote: { title: 'ro-added' } } });
    expect(await storedTitles(owner, a.id)).toEqual(['ro-added', 'ro-first']);
  });

  it('refuses a write in a query operation, keeping nothing', async () => {
    const body = await gql(readOnly, '{ writingQuery(title: "ro-sneaky") }');
    expect(body).toEqual({
      data: { writingQuery: null },
      errors: [
        {
          message: 'Internal server error',
          path: ['writingQuery'],
          locations: [{ line: 1, column: 3 }],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        },
      ],
    });
    expect(await storedTitles(owner, a.id)).toEqual(['ro-added', 'ro-first']);
    const allowed = await gql(readWrite, '{ writingQuery(title: "rw-query") }');
    expect(allowed).toEqual({ data: { writingQuery: true } });
    expect(await storedTitles(owner, a.id)).toEqual(['ro-added', 'ro-first', 'rw-query']);
  });
});
