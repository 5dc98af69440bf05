import { Controller, INestMicroservice, LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  ClientRMQ,
  MessagePattern,
  RmqRecord,
  Transport,
} from '@nestjs/microservices';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import amqplib, { Channel, ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { DataSource } from 'typeorm';
import { contextStatementFromEnv, signToken } from '@app/demo-kit';
import {
  createTenancyDataSource,
  Roles,
  TenancyError,
  TenancyModule,
  TenantContextService,
  TenantRunner,
  TenantScoped,
} from '@app/tenancy';
import {
  deadLetterQueueOptions,
  TenantMessageClient,
  TenantRmqServer,
} from '@app/tenancy/microservices';
import { connect, createTenant } from '../support/db';
import { testUrl } from '../support/test-env';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const SECRET = 'microservices-test-secret-0123456789abcdefgh';

/** What a tenant transaction of a message handler carries. */
interface Seen {
  tenantId: string;
  userId: string;
  role: string;
  requestId: string;
}

/** Request-response handlers that report the transaction's settings, or fail. */
@TenantScoped()
@Controller()
class ProbeController {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  @MessagePattern('whoami')
  async whoami(): Promise<Seen> {
    const [row] = await this.ds.query(
      `SELECT current_setting('app.tenant_id', true) AS "tenantId",
              current_setting('app.user_id', true) AS "userId",
              current_setting('app.role', true) AS "role",
              current_setting('app.request_id', true) AS "requestId"`,
    );
    return row as Seen;
  }

  @MessagePattern('admin-only')
  @Roles('admin')
  adminOnly(): string {
    return 'admin';
  }

  @MessagePattern('boom')
  boom(): never {
    throw new Error('kaboom in /srv/app/secret.ts:12');
  }
}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      useFactory: () => ({
        type: 'postgres' as const,
        url: testUrl('appUrl'),
        entities: [],
        synchronize: false,
      }),
      dataSourceFactory: createTenancyDataSource,
    }),
    TenancyModule.forRoot({
      jwt: { secret: SECRET },
      roles: ['agent', 'admin'],
      contextStatement: contextStatementFromEnv(),
    }),
  ],
  controllers: [ProbeController],
})
class ProbeModule {}

/** Log lines, to check that a refusal says why. */
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

/** @TenantScoped() request-response handlers behind TenantRmqServer, on real RabbitMQ. */
describe('TenantRmqServer and TenantMessageClient', () => {
  const queue = `tenancy.rpc.test-${process.pid}-${randomUUID().slice(0, 8)}`;
  const deadQueue = `${queue}.dead`;
  const logger = new CapturingLogger();
  let service: INestMicroservice;
  let client: ClientRMQ;
  let amqp: ChannelModel;
  let channel: Channel;
  let owner: Client;
  let tenantA: string;
  let tenantB: string;

  const token = (tenantId: string, role = 'agent', userId = randomUUID()) =>
    signToken(SECRET, { tenantId, userId, role });
  const withToken = (data: unknown, bearer?: string, requestId?: string) =>
    new RmqRecord(data, {
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
    });
  const refusal = (pattern: string, record: RmqRecord) =>
    firstValueFrom(client.send(pattern, record)).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  const drainDead = async () => {
    const bodies: unknown[] = [];
    for (let message = await channel.get(deadQueue, { noAck: true }); message;) {
      bodies.push(JSON.parse(message.content.toString()).data);
      message = await channel.get(deadQueue, { noAck: true });
    }
    return bodies;
  };
  const eventuallyDead = async (count: number) => {
    const bodies: unknown[] = [];
    for (let i = 0; i < 200 && bodies.length < count; i++) {
      bodies.push(...(await drainDead()));
      if (bodies.length < count) await new Promise((r) => setTimeout(r, 100));
    }
    return bodies;
  };

  beforeAll(async () => {
    owner = await connect('owner');
    tenantA = await createTenant(owner, 'rpc-a');
    tenantB = await createTenant(owner, 'rpc-b');
    service = await NestFactory.createMicroservice(ProbeModule, {
      strategy: new TenantRmqServer({
        urls: [AMQP_URL],
        queue,
        prefetchCount: 10,
        deadLetterQueue: deadQueue,
      }),
      logger,
    });
    await service.listen();
    client = ClientProxyFactory.create({
      transport: Transport.RMQ,
      options: { urls: [AMQP_URL], queue, queueOptions: deadLetterQueueOptions(deadQueue) },
    }) as ClientRMQ;
    amqp = await amqplib.connect(AMQP_URL);
    channel = await amqp.createChannel();
  });
  afterAll(async () => {
    await client?.close();
    await service?.close();
    await channel?.deleteQueue(queue);
    await channel?.deleteQueue(deadQueue);
    await amqp?.close();
    await owner?.end();
  });

  it('replies from a transaction carrying the token’s tenant, user, role and request id, then acks', async () => {
    const userId = randomUUID();
    const seen = await firstValueFrom(
      client.send<Seen>('whoami', withToken({}, token(tenantA, 'admin', userId), 'req-42')),
    );
    expect(seen).toEqual({ tenantId: tenantA, userId, role: 'admin', requestId: 'req-42' });
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    expect(await drainDead()).toEqual([]);
  });

  it('gives each of many concurrent messages its own context', async () => {
    const sent = Array.from({ length: 20 }, (_, i) => ({
      tenantId: i % 2 ? tenantA : tenantB,
      userId: randomUUID(),
      requestId: `req-${i}`,
    }));
    const replies = await Promise.all(
      sent.map((s) =>
        firstValueFrom(
          client.send<Seen>(
            'whoami',
            withToken({}, token(s.tenantId, 'agent', s.userId), s.requestId),
          ),
        ),
      ),
    );
    expect(replies).toEqual(sent.map((s) => ({ ...s, role: 'agent' })));
  });

  it('replies to a message without a token with a 401 RpcException-style error and dead-letters it', async () => {
    const outcome = await refusal('whoami', withToken({ n: 'no-token' }));
    expect(outcome).toEqual({
      error: {
        status: 'error',
        statusCode: 401,
        message: 'missing bearer token',
        error: 'Unauthorized',
      },
    });
    expect(await eventuallyDead(1)).toEqual([{ n: 'no-token' }]);
    expect(logger.lines).toContain('whoami: message refused (401 missing bearer token)');
    expect(logger.lines).toContain(
      `whoami: message dead-lettered to ${deadQueue}: missing bearer token`,
    );
  });

  it('refuses a role the handler does not allow with 403 and dead-letters the message', async () => {
    const outcome = await refusal('admin-only', withToken({ n: 'agent' }, token(tenantA)));
    expect(outcome).toEqual({
      error: {
        status: 'error',
        statusCode: 403,
        message: 'requires role: admin',
        error: 'Forbidden',
      },
    });
    expect(await eventuallyDead(1)).toEqual([{ n: 'agent' }]);
  });

  it('answers a handler that throws with no stack, dead-letters it once and keeps consuming', async () => {
    const outcome = await refusal('boom', withToken({ n: 'boom' }, token(tenantA)));
    expect(outcome).toEqual({ error: { status: 'error', message: 'Internal server error' } });
    expect(await eventuallyDead(1)).toEqual([{ n: 'boom' }]);
    const userId = randomUUID();
    const seen = await firstValueFrom(
      client.send<Seen>('whoami', withToken({}, token(tenantB, 'agent', userId))),
    );
    expect(seen).toMatchObject({ tenantId: tenantB, userId });
  });

  it('with noAck: true acks nothing itself, like ServerRMQ (no double ack closes the channel)', async () => {
    const autoQueue = `${queue}.auto-ack`;
    const auto = await NestFactory.createMicroservice(ProbeModule, {
      strategy: new TenantRmqServer({ urls: [AMQP_URL], queue: autoQueue, noAck: true }),
      logger: false,
    });
    await auto.listen();
    const autoClient = ClientProxyFactory.create({
      transport: Transport.RMQ,
      options: { urls: [AMQP_URL], queue: autoQueue },
    }) as ClientRMQ;
    try {
      const refused = await firstValueFrom(autoClient.send('whoami', withToken({}))).catch(
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ statusCode: 401, message: 'missing bearer token' });
      const userId = randomUUID();
      for (const tenantId of [tenantA, tenantB]) {
        const seen = await firstValueFrom(
          autoClient.send<Seen>('whoami', withToken({}, token(tenantId, 'agent', userId))),
        );
        expect(seen).toMatchObject({ tenantId, userId });
      }
      expect((await channel.checkQueue(autoQueue)).messageCount).toBe(0);
    } finally {
      await autoClient.close();
      await auto.close();
      await channel.deleteQueue(autoQueue);
    }
  });

  describe('TenantMessageClient', () => {
    it('attaches a token from options.token when the context has no verified one', async () => {
      const runner = service.get(TenantRunner);
      const tenancy = service.get(TenantContextService);
      const userId = randomUUID();
      const signed: string[] = [];
      const messages = new TenantMessageClient(client, tenancy, {
        token: (context, verified) => {
          signed.push(`${context.tenantId} ${String(verified)}`);
          return signToken(SECRET, context, '60s');
        },
      });
      const seen = await runner.run({ tenantId: tenantA, userId, role: 'admin' }, () =>
        firstValueFrom(messages.send<Seen>('whoami', {})),
      );
      expect(seen).toMatchObject({ tenantId: tenantA, userId, role: 'admin' });
      expect(signed).toEqual([`${tenantA} undefined`]);
    });

    it('refuses to send without a token to attach, and outside a tenant context', async () => {
      const runner = service.get(TenantRunner);
      const messages = new TenantMessageClient(client, service.get(TenantContextService));
      await expect(
        runner.run({ tenantId: tenantA, userId: randomUUID(), role: 'agent' }, () =>
          messages.emit('whoami', {}),
        ),
      ).rejects.toThrow(TenancyError);
      await expect(messages.emit('whoami', {})).rejects.toThrow('no tenant context');
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    });
  });
});
