import { Controller, INestMicroservice, LoggerService, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxy,
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  MicroserviceOptions,
  MqttRecordBuilder,
  NatsRecordBuilder,
  Payload,
  Transport,
} from '@nestjs/microservices';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import * as nats from '@nats-io/transport-node';
import { sign } from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { DataSource, EntitySubscriberInterface, EventSubscriber } from 'typeorm';
import { contextStatementFromEnv, signToken } from '@app/demo-kit';
import {
  createTenancyDataSource,
  TenancyModule,
  TenantContextService,
  TenantScoped,
} from '@app/tenancy';
import { connect } from '../support/db';
import { testUrl } from '../support/test-env';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';
import { notesTenant, NotesTenant, storedTitles } from '../tenancy/fixtures/notes.harness';
import { NOTES_SECRET } from '../tenancy/fixtures/notes.app';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/** The transaction settings a handler ran with, and the notes it could see. */
interface Seen {
  tenantId: string;
  userId: string;
  role: string;
  requestId: string;
  titles: string[];
}

/**
 * nats.js's `headers()` (what Nest's ClientNats sends as a message's headers): exported at run time,
 * but its types sit behind an `exports` map that this repository's `moduleResolution: node` skips.
 */
const natsHeaders = (nats as unknown as { headers(): { set(name: string, value: string): void } })
  .headers;

/** The payload of the note event, typed for `@EventPattern()`. */
type NoteEvents = Record<string, { title: string }>;

/** The subjects (NATS) or topics (MQTT) of one transport's handlers, unique per run. */
function patternsFor(transport: string) {
  const prefix = `tenancy-test-${transport}-${process.pid}-${randomUUID().slice(0, 8)}`;
  return { whoami: `${prefix}-whoami`, note: `${prefix}-note`, noted: `${prefix}-noted` };
}

/**
 * Holds every commit for 50 ms: a reply sent before its transaction committed would then reach the
 * caller while the row is still invisible to others, so the suites' owner-side checks catch it
 * every time instead of by chance.
 */
@EventSubscriber()
class SlowCommitSubscriber implements EntitySubscriberInterface {
  async beforeTransactionCommit(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A module whose @TenantScoped() handlers answer on `patterns`: read, write, and an event that writes. */
function notesMessagesModule(patterns: ReturnType<typeof patternsFor>): Type {
  @TenantScoped()
  @Controller()
  class NotesMessagesController {
    constructor(
      @InjectDataSource() private readonly ds: DataSource,
      private readonly tenancy: TenantContextService,
    ) {}

    @MessagePattern(patterns.whoami)
    whoami(): Promise<Seen> {
      return this.seen();
    }

    @MessagePattern(patterns.note)
    async note(@Payload() { title }: { title: string }): Promise<Seen> {
      await this.insert(title);
      return this.seen();
    }

    @EventPattern<NoteEvents>(patterns.noted)
    async noted(@Payload() { title }: { title: string }): Promise<void> {
      await this.insert(title);
    }

    private async insert(title: string): Promise<void> {
      await this.ds.query('INSERT INTO lib_test.notes (tenant_id, title) VALUES ($1, $2)', [
        this.tenancy.require().tenantId,
        title,
      ]);
    }

    private async seen(): Promise<Seen> {
      const [settings] = await this.ds.query(
        `SELECT current_setting('app.tenant_id', true) AS "tenantId",
                current_setting('app.user_id', true) AS "userId",
                current_setting('app.role', true) AS "role",
                current_setting('app.request_id', true) AS "requestId"`,
      );
      const rows = await this.ds.query<{ title: string }[]>(
        'SELECT title FROM lib_test.notes ORDER BY title',
      );
      return { ...settings, titles: rows.map((r) => r.title) };
    }
  }

  @Module({
    imports: [
      TypeOrmModule.forRootAsync({
        useFactory: () => ({
          type: 'postgres' as const,
          url: testUrl('appUrl'),
          entities: [],
          subscribers: [SlowCommitSubscriber],
          synchronize: false,
        }),
        dataSourceFactory: createTenancyDataSource,
      }),
      TenancyModule.forRoot({
        jwt: { secret: NOTES_SECRET },
        roles: ['member', 'admin'],
        contextStatement: contextStatementFromEnv(),
      }),
    ],
    controllers: [NotesMessagesController],
  })
  class NotesMessagesModule {}

  return NotesMessagesModule;
}

/** Log lines, to know that a refused event was handled (an event has no reply). */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) {
    this.lines.push(String(message));
  }
  warn(message: unknown) {
    this.lines.push(String(message));
  }
  error(message: unknown) {
    this.lines.push(String(message));
  }
}

/** The message metadata a transport carries: the header (or user property) names and values. */
type Metadata = Record<string, string>;

/** How a suite talks to one transport: the server's options, the client's, and a record with metadata. */
interface TransportUnderTest {
  name: string;
  server: MicroserviceOptions;
  client: () => ClientProxy;
  record: (data: object, metadata: Metadata) => unknown;
}

const TRANSPORTS: TransportUnderTest[] = [
  {
    name: 'NATS',
    server: { transport: Transport.NATS, options: { servers: [NATS_URL] } },
    client: () =>
      ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [NATS_URL] } }),
    record: (data, metadata) => {
      const headers = natsHeaders();
      for (const [name, value] of Object.entries(metadata)) headers.set(name, value);
      return new NatsRecordBuilder(data).setHeaders(headers).build();
    },
  },
  {
    name: 'MQTT 5',
    server: { transport: Transport.MQTT, options: { url: MQTT_URL, protocolVersion: 5 } },
    client: () =>
      ClientProxyFactory.create({
        transport: Transport.MQTT,
        options: { url: MQTT_URL, protocolVersion: 5 },
      }),
    record: (data, metadata) =>
      new MqttRecordBuilder(data)
        .setQoS(1)
        .setProperties(Object.keys(metadata).length ? { userProperties: metadata } : {})
        .build(),
  },
];

const until = async (what: string, check: () => Promise<boolean> | boolean) => {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

for (const transport of TRANSPORTS) {
  /** @TenantScoped() message and event handlers on Nest's own transport, against the real broker. */
  describe(`@TenantScoped() handlers on ${transport.name} (metadata from the message)`, () => {
    const tag = transport.name === 'NATS' ? 'nats' : 'mqtt';
    const patterns = patternsFor(tag);
    const logger = new CapturingLogger();
    let service: INestMicroservice;
    let client: ClientProxy;
    let owner: Client;
    let admin: Client;
    let a: NotesTenant;
    let b: NotesTenant;
    let suspended: NotesTenant;

    const bearer = (token: string): Metadata => ({ authorization: `Bearer ${token}` });
    const send = (pattern: string, data: object, metadata: Metadata) =>
      firstValueFrom(client.send<Seen>(pattern, transport.record(data, metadata)));
    const outcome = (pattern: string, data: object, metadata: Metadata) =>
      send(pattern, data, metadata).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    const emit = (data: object, metadata: Metadata) =>
      firstValueFrom(client.emit(patterns.noted, transport.record(data, metadata)));
    const tenantsHolding = async (title: string) =>
      (
        await admin.query<{ tenant_id: string }>(
          'SELECT tenant_id FROM lib_test.notes WHERE title = $1',
          [title],
        )
      ).rows.map((r) => r.tenant_id);
    const refusedLines = (status: number, message: string) =>
      logger.lines.filter((l) => l === `${patterns.noted}: message refused (${status} ${message})`)
        .length;

    /** The refusals every transport must give: no, forged or expired token, suspended tenant. */
    const refusals = () => [
      { why: 'no token', metadata: {}, statusCode: 401, message: 'missing bearer token' },
      {
        why: 'a forged token',
        metadata: bearer(
          signToken('another-secret-0123456789-abcdefghijklmnopq', {
            tenantId: a.id,
            userId: a.userId,
            role: 'member',
          }),
        ),
        statusCode: 401,
        message: 'invalid token signature',
      },
      {
        why: 'an expired token',
        metadata: bearer(
          sign({ tenant_id: a.id, role: 'member' }, NOTES_SECRET, {
            algorithm: 'HS256',
            subject: a.userId,
            expiresIn: -60,
          }),
        ),
        statusCode: 401,
        message: 'token expired',
      },
      {
        why: 'a suspended tenant’s token',
        metadata: bearer(suspended.token),
        statusCode: 403,
        message: 'tenant is suspended',
      },
    ];

    beforeAll(async () => {
      owner = await connect('owner');
      admin = await connect('admin');
      await ensureNotesSchema(owner);
      a = await notesTenant(owner, 'msg-a', ['a-seed-1', 'a-seed-2']);
      b = await notesTenant(owner, 'msg-b', ['b-seed-1']);
      suspended = await notesTenant(owner, 'msg-suspended', ['s-seed']);
      await owner.query(`UPDATE tenancy.tenants SET status = 'suspended' WHERE id = $1`, [
        suspended.id,
      ]);
      service = await NestFactory.createMicroservice<MicroserviceOptions>(
        notesMessagesModule(patterns),
        { ...transport.server, logger },
      );
      await service.listen();
      client = transport.client();
      await client.connect();
    });
    afterAll(async () => {
      await client?.close();
      await service?.close();
      await admin?.end();
      await owner?.end();
    });

    it('runs a request as the token’s tenant, user and request id, reading and writing only that tenant’s rows', async () => {
      const seen = await send(
        patterns.note,
        { title: `a-${tag}-by-request` },
        { ...bearer(a.token), 'x-request-id': 'req-msg-1' },
      );
      expect(seen).toEqual({
        tenantId: a.id,
        userId: a.userId,
        role: 'member',
        requestId: 'req-msg-1',
        titles: [`a-${tag}-by-request`, 'a-seed-1', 'a-seed-2'],
      });
      expect(await storedTitles(owner, a.id)).toEqual([
        `a-${tag}-by-request`,
        'a-seed-1',
        'a-seed-2',
      ]);
      expect(await storedTitles(owner, b.id)).toEqual(['b-seed-1']);
      expect(await tenantsHolding(`a-${tag}-by-request`)).toEqual([a.id]);
    });

    it('reads the header name case-insensitively (Authorization, X-Request-Id), as on HTTP and RabbitMQ', async () => {
      const seen = await send(
        patterns.whoami,
        {},
        { Authorization: `Bearer ${b.token}`, 'X-Request-Id': 'req-msg-case' },
      );
      expect(seen).toEqual({
        tenantId: b.id,
        userId: b.userId,
        role: 'member',
        requestId: 'req-msg-case',
        titles: ['b-seed-1'],
      });
    });

    it('runs an event as the token’s tenant: its row is visible to that tenant only', async () => {
      await emit({ title: `b-${tag}-by-event` }, bearer(b.token));
      await until(
        'the event’s row',
        async () => (await tenantsHolding(`b-${tag}-by-event`)).length > 0,
      );
      expect(await tenantsHolding(`b-${tag}-by-event`)).toEqual([b.id]);
      expect(await storedTitles(owner, b.id)).toEqual([`b-${tag}-by-event`, 'b-seed-1']);
      expect(await storedTitles(owner, a.id)).toEqual([
        `a-${tag}-by-request`,
        'a-seed-1',
        'a-seed-2',
      ]);
    });

    it('answers a refused request with the error object (401/403, no stack), writes nothing, then serves the next one', async () => {
      for (const refusal of refusals()) {
        const title = `refused-request ${tag} ${refusal.why}`;
        expect(await outcome(patterns.note, { title }, refusal.metadata)).toEqual({
          error: {
            status: 'error',
            statusCode: refusal.statusCode,
            message: refusal.message,
            error: refusal.statusCode === 401 ? 'Unauthorized' : 'Forbidden',
          },
        });
        const next = await send(patterns.whoami, {}, bearer(a.token));
        expect(next).toMatchObject({ tenantId: a.id, userId: a.userId });
        expect(await tenantsHolding(title)).toEqual([]);
      }
      expect(await storedTitles(owner, suspended.id)).toEqual(['s-seed']);
    });

    it('drops a refused event (logged, nothing written) and handles the next valid event', async () => {
      for (const refusal of refusals()) {
        const title = `refused-event ${tag} ${refusal.why}`;
        const before = refusedLines(refusal.statusCode, refusal.message);
        await emit({ title }, refusal.metadata);
        await until(
          `the refusal of ${refusal.why}`,
          () => refusedLines(refusal.statusCode, refusal.message) > before,
        );
        const valid = `a-after ${tag} ${refusal.why}`;
        await emit({ title: valid }, bearer(a.token));
        await until('the next event’s row', async () => (await tenantsHolding(valid)).length > 0);
        expect(await tenantsHolding(valid)).toEqual([a.id]);
        expect(await tenantsHolding(title)).toEqual([]);
      }
      expect(await storedTitles(owner, suspended.id)).toEqual(['s-seed']);
    });

    it('gives each of 20 concurrent messages alternating two tenants its own tenant, user and request id', async () => {
      const aTitles = await storedTitles(owner, a.id);
      const bTitles = await storedTitles(owner, b.id);
      const sent = Array.from({ length: 20 }, (_, i) => {
        const tenant = i % 2 ? a : b;
        const userId = randomUUID();
        const token = signToken(NOTES_SECRET, { tenantId: tenant.id, userId, role: 'member' });
        return { tenant, userId, token, requestId: `req-concurrent-${i}` };
      });
      const replies = await Promise.all(
        sent.map((s) =>
          send(patterns.whoami, {}, { ...bearer(s.token), 'x-request-id': s.requestId }),
        ),
      );
      expect(replies).toEqual(
        sent.map((s) => ({
          tenantId: s.tenant.id,
          userId: s.userId,
          role: 'member',
          requestId: s.requestId,
          titles: s.tenant === a ? aTitles : bTitles,
        })),
      );
    });
  });
}
