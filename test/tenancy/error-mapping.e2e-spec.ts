import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpServer,
  INestApplication,
} from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import {
  get,
  notesSetup,
  notesTenant,
  NotesTenant,
  post,
  storedTitles,
} from './fixtures/notes.harness';

/** TenancyExceptionFilter turns what PostgreSQL refuses into a clear 4xx, never a 500 or its text. */
for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyExceptionFilter: SQL errors that are the client mistakes (${adapter})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ adapter }));
      a = await notesTenant(owner, 'errors-a', ['a-kept']);
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    const cases: [string, string, number, string, string][] = [
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
    ];
    for (const [name, kind, status, message, error] of cases) {
      it(`${name} is ${status}, with no SQL text, and the request writes nothing`, async () => {
        const res = await post(app, '/notes/sql-error', a.token, { kind }).expect(status);
        expect(res.body).toEqual({ statusCode: status, message, error });
        expect(await storedTitles(owner, a.id)).toEqual(['a-kept']);
      });
    }
  });
}

/**
 * An app's own catch-all filter, with its own body and a header, so a test can tell who answered;
 * it writes through the HTTP adapter, so it answers on Express and Fastify alike.
 */
@Catch()
class AppErrorFilter implements ExceptionFilter {
  constructor(private readonly http: HttpServer) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const response: unknown = host.switchToHttp().getResponse();
    this.http.setHeader(response, 'x-answered-by', 'app-filter');
    this.http.reply(
      response,
      { failed: exception instanceof Error ? exception.message : String(exception) },
      status,
    );
  }
}

/**
 * TenancyExceptionFilter handles only library and database errors: on a @TenantScoped() route,
 * everything else reaches the app's own global filter, as on any other route.
 */
for (const adapter of HTTP_ADAPTERS) {
  describe(`TenancyExceptionFilter: composes with the app's own global filter (${adapter})`, () => {
    let owner: Client;
    let app: INestApplication;
    let a: NotesTenant;
    let b: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({
        adapter,
        globalFilters: (app) => [new AppErrorFilter(app.getHttpAdapter())],
      }));
      a = await notesTenant(owner, 'compose-a', ['a-kept']);
      b = await notesTenant(owner, 'compose-b', ['b-kept']);
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
    });

    it("leaves an error the handler throws to the app's filter, and the write is rolled back", async () => {
      const res = await post(app, '/notes/fail-after-write', a.token, { title: 'a-doomed' });
      expect([res.status, res.headers['x-answered-by'], res.body]).toEqual([
        500,
        'app-filter',
        { failed: 'handler failed after writing' },
      ]);
      expect(await storedTitles(owner, a.id)).toEqual(['a-kept']);
    });

    it("leaves an HttpException the handler throws to the app's filter", async () => {
      const res = await get(app, '/notes/http-exception', a.token);
      expect([res.status, res.headers['x-answered-by'], res.body]).toEqual([
        409,
        'app-filter',
        { failed: 'note is locked' },
      ]);
    });

    it("leaves the guard's 401 and 403 (HttpExceptions) to the app's filter", async () => {
      const missing = await get(app, '/notes/raw');
      expect([missing.status, missing.headers['x-answered-by'], missing.body]).toEqual([
        401,
        'app-filter',
        { failed: 'missing bearer token' },
      ]);
      const role = await get(app, '/notes/admin-only', a.token);
      expect([role.status, role.headers['x-answered-by'], role.body]).toEqual([
        403,
        'app-filter',
        { failed: 'requires role: admin' },
      ]);
    });

    const libraryCases: { name: string; send: () => request.Test; status: number; body: object }[] =
      [
        {
          name: 'a malformed uuid PostgreSQL refused (22P02)',
          send: () => post(app, '/notes/sql-error', a.token, { kind: 'uuid' }),
          status: 400,
          body: { statusCode: 400, message: 'invalid value', error: 'Bad Request' },
        },
        {
          name: "a policy refusing another tenant's id (42501)",
          send: () => post(app, '/notes/smuggle', a.token, { tenantId: b.id, title: 'smuggled' }),
          status: 403,
          body: {
            statusCode: 403,
            message: 'row-level security denied this operation',
            error: 'Forbidden',
          },
        },
        {
          name: 'a library error (TenantStreamAbandonedError)',
          send: () => get(app, '/notes/stream-unconsumed', a.token),
          status: 500,
          body: {
            statusCode: 500,
            message: 'Internal server error',
            error: 'Internal Server Error',
          },
        },
      ];
    for (const c of libraryCases) {
      it(`still maps ${c.name} on the same routes itself`, async () => {
        const res = await c.send();
        expect([res.status, res.headers['x-answered-by'], res.body]).toEqual([
          c.status,
          undefined,
          c.body,
        ]);
      });
    }
  });
}
