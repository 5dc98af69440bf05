import { IncomingMessage, request as httpRequest } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { connect } from '../support/db';
import { HTTP_ADAPTERS } from '../support/http-adapter';
import { pollUntil } from '../isolation/support/util';
import { get, notesSetup, notesTenant, NotesTenant, storedTitles } from './fixtures/notes.harness';

/** One server-sent event: its type (`message` unless named) and its data. */
interface SseEvent {
  type: string;
  data: string;
}

/** The events of a text/event-stream body (ids and comments left out). */
function parseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((line) => line.startsWith('data: ')))
    .map((block) => {
      const lines = block.split('\n');
      const type = lines.find((l) => l.startsWith('event: '))?.slice('event: '.length);
      const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice('data: '.length));
      return { type: type ?? 'message', data: data.join('\n') };
    });
}

/** What each event of /notes/session-events carries: the backend, transaction and tenant setting. */
interface Session {
  pid: number;
  txid: string;
  tenantId: string;
}

/** The data of `message` events, parsed as JSON. */
const messages = (events: SseEvent[]) =>
  events.filter((e) => e.type === 'message').map((e) => JSON.parse(e.data) as unknown);

/** A GET read as it arrives (node:http), which the client can leave before the server ends it. */
function openStream(baseUrl: string, path: string, token?: string) {
  let text = '';
  const req = httpRequest(new URL(path, baseUrl), {
    headers: {
      Accept: 'text/event-stream',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  const done = response.then(
    (res) =>
      new Promise<{ status?: number; contentType?: string; text: string }>((resolve) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', () => undefined);
        res.on('close', () =>
          resolve({ status: res.statusCode, contentType: res.headers['content-type'], text }),
        );
      }),
  );
  req.end();
  return {
    /** The status, content type and whole body, once the response has ended. */
    done,
    /** The events received so far. */
    events: () => parseEvents(text),
    /** Closes the connection, as a browser does when the page goes away. */
    leave: () => req.destroy(),
  };
}

/**
 * An @Sse() handler behind @TenantScoped(): each value leaves as it is emitted, the whole stream is
 * one transaction of the caller's tenant, and a client that leaves ends it (pool size 1, so a
 * connection left pinned would block the next request).
 */
for (const adapter of HTTP_ADAPTERS) {
  describe(`TenantTransactionInterceptor: a handler Observable stays a stream (server-sent events) (${adapter})`, () => {
    let owner: Client;
    let admin: Client;
    let app: INestApplication;
    let url: string;
    let a: NotesTenant;
    let b: NotesTenant;

    beforeAll(async () => {
      ({ owner, app } = await notesSetup({ adapter, poolSize: 1 }));
      admin = await connect('admin');
      a = await notesTenant(owner, 'stream-a', ['a-one', 'a-two', 'a-three']);
      b = await notesTenant(owner, 'stream-b', ['b-one', 'b-two']);
      await app.listen(0, '127.0.0.1');
      url = await app.getUrl();
    });

    afterAll(async () => {
      await app.close();
      await owner.end();
      await admin.end();
    });

    /** The state of a server backend in pg_stat_activity (`idle` once its transaction ended). */
    const backendState = async (pid: number) =>
      (
        await admin.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [
          pid,
        ])
      ).rows[0]?.state;

    it('sends tenant A exactly its notes, one event per row', async () => {
      const res = await openStream(url, '/notes/events', a.token).done;
      expect([res.status, res.contentType]).toEqual([200, 'text/event-stream']);
      expect(parseEvents(res.text).map((e) => e.type)).toEqual(['message', 'message', 'message']);
      expect(messages(parseEvents(res.text))).toEqual([
        { title: 'a-one' },
        { title: 'a-three' },
        { title: 'a-two' },
      ]);
    });

    it('sends tenant B exactly its notes, one event per row', async () => {
      const res = await openStream(url, '/notes/events', b.token).done;
      expect(res.status).toBe(200);
      expect(messages(parseEvents(res.text))).toEqual([{ title: 'b-one' }, { title: 'b-two' }]);
    });

    it('refuses a request without a token with a JSON 401 and opens no stream', async () => {
      const res = await openStream(url, '/notes/events').done;
      expect([res.status, res.contentType]).toEqual([401, 'application/json; charset=utf-8']);
      expect(JSON.parse(res.text)).toEqual({
        statusCode: 401,
        message: 'missing bearer token',
        error: 'Unauthorized',
      });
    });

    it("runs every query of a stream in one transaction of the caller's tenant", async () => {
      for (const t of [a, b]) {
        const res = await openStream(url, '/notes/session-events?count=3', t.token).done;
        const rows = messages(parseEvents(res.text)) as Session[];
        expect(rows).toHaveLength(3);
        expect(rows.map((r) => r.tenantId)).toEqual([t.id, t.id, t.id]);
        expect(new Set(rows.map((r) => `${r.pid}/${r.txid}`)).size).toBe(1);
      }
    });

    it('passes on the events of an endless stream as they come, and ends its transaction when the client leaves', async () => {
      const stream = openStream(url, '/notes/session-events', a.token);
      const [first] = (await pollUntil('three events of an endless stream', async () =>
        stream.events().length >= 3 ? messages(stream.events()) : undefined,
      )) as Session[];
      expect(first.tenantId).toBe(a.id);
      expect(['active', 'idle in transaction']).toContain(await backendState(first.pid));
      stream.leave();
      await stream.done;
      await pollUntil('the stream transaction to end', async () =>
        (await backendState(first.pid)) === 'idle' ? true : undefined,
      );
      expect((await get(app, '/notes/raw', b.token).expect(200)).body).toEqual(['b-one', 'b-two']);
    });

    it('rolls back what a stream wrote when it fails after an event, and ends with an error event', async () => {
      const res = await openStream(url, '/notes/write-then-fail?title=a-streamed', a.token).done;
      expect(parseEvents(res.text)).toEqual([
        { type: 'message', data: JSON.stringify({ saved: 'a-streamed' }) },
        { type: 'error', data: 'Internal server error' },
      ]);
      expect(await storedTitles(owner, a.id)).toEqual(['a-one', 'a-three', 'a-two']);
    });
  });
}
