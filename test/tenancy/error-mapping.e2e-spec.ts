import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { notesSetup, notesTenant, NotesTenant, post, storedTitles } from './fixtures/notes.harness';

/** TenancyExceptionFilter turns what PostgreSQL refuses into a clear 4xx, never a 500 or its text. */
describe('TenancyExceptionFilter: SQL errors that are the client mistakes', () => {
  let owner: Client;
  let app: INestApplication;
  let a: NotesTenant;

  beforeAll(async () => {
    ({ owner, app } = await notesSetup());
    a = await notesTenant(owner, 'errors-a', ['a-kept']);
  });

  afterAll(async () => {
    await app.close();
    await owner.end();
  });

  it.each([
    ['a NUL character in text (22021)', 'nul', 400, 'invalid value', 'Bad Request'],
    ['year 0 in a timestamp (22008)', 'year0', 400, 'invalid value', 'Bad Request'],
    ['an unreadable timestamp (22007)', 'date', 400, 'invalid value', 'Bad Request'],
    ['a malformed uuid (22P02)', 'uuid', 400, 'invalid value', 'Bad Request'],
    [
      'a reference to a row that does not exist (23503)',
      'missingParent',
      409,
      'a row this one refers to does not exist',
      'Conflict',
    ],
  ])(
    '%s is %d, with no SQL text, and the request writes nothing',
    async (_, kind, status, message, error) => {
      const res = await post(app, '/notes/sql-error', a.token, { kind }).expect(status);
      expect(res.body).toEqual({ statusCode: status, message, error });
      expect(await storedTitles(owner, a.id)).toEqual(['a-kept']);
    },
  );
});
