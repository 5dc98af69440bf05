import { INestApplication, LoggerService } from '@nestjs/common';
import amqplib, { Channel, ChannelModel, GetMessage } from 'amqplib';
import { sign } from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { signToken } from '@app/demo-kit';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { connect, createTenant } from '../support/db';
import { testUrl } from '../support/test-env';
import { as, dbRows, JWT_SECRET, supportTenant, SupportTenant } from './support-api.fixture';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Every log line of the app, to check that a refusal says why. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string) {
    this.lines.push(`log [${context}] ${String(message)}`);
  }
  warn(message: unknown, context?: string) {
    this.lines.push(`warn [${context}] ${String(message)}`);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.lines.push(`error ${String(message)} ${rest.map(String).join(' ')}`);
  }
}

/** Polls `probe` until it returns a value (bounded: 20 s), so no test depends on a timing. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** support-api as a hybrid app consuming inbound emails from a queue of its own, on real RabbitMQ. */
describe('support-api inbound emails over RabbitMQ', () => {
  const queue = `support.inbound-email.test-${process.pid}-${randomUUID().slice(0, 8)}`;
  const deadQueue = `${queue}.dead`;
  const logger = new CapturingLogger();
  let app: INestApplication;
  let owner: Client;
  let admin: Client;
  let amqp: ChannelModel;
  let channel: Channel;
  let a: SupportTenant;
  let b: SupportTenant;

  const publish = (content: string, headers: Record<string, string> = {}) =>
    channel.sendToQueue(queue, Buffer.from(content), { headers, persistent: false });
  const publishEmail = (data: unknown, token?: string) =>
    publish(
      JSON.stringify({ pattern: 'inbound-email', data }),
      token ? { authorization: `Bearer ${token}` } : {},
    );
  const nextDead = () =>
    eventually(async () => (await channel.get(deadQueue, { noAck: true })) || undefined, 'DLQ');
  const ticketsWithSubject = (subject: string) =>
    dbRows<{ tenant_id: string; requester_id: string; description: string | null }>(
      admin,
      `SELECT tenant_id, requester_id, description FROM support.tickets WHERE subject = $1`,
      [subject],
    );
  const deadPayload = (message: GetMessage) => message.content.toString();
  const refusalLogged = (reason: string) =>
    logger.lines.some(
      (line) => line.includes(`message dead-lettered to ${deadQueue}`) && line.includes(reason),
    );

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    amqp = await amqplib.connect(AMQP_URL);
    channel = await amqp.createChannel();
    app = await createSupportApp({
      databaseUrl: testUrl('appUrl'),
      jwtSecret: JWT_SECRET,
      logger,
      amqpUrl: AMQP_URL,
      inboundEmailQueue: queue,
    });
    a = await supportTenant(owner, 'inbound-a');
    b = await supportTenant(owner, 'inbound-b');
  });
  afterAll(async () => {
    if (process.env.DEBUG_INBOUND_LOG) console.log(logger.lines.join('\n'));
    await app?.close();
    await channel?.deleteQueue(queue);
    await channel?.deleteQueue(deadQueue);
    await amqp?.close();
    await owner?.end();
    await admin?.end();
  });

  it('turns a message into exactly one ticket of the token’s tenant, invisible to another', async () => {
    const subject = `valid ${randomUUID()}`;
    publishEmail({ subject, body: 'The printer is on fire' }, a.agent);
    const rows = await eventually(async () => {
      const found = await ticketsWithSubject(subject);
      return found.length ? found : undefined;
    }, 'the ticket');
    expect(rows).toEqual([
      { tenant_id: a.id, requester_id: a.agentId, description: 'The printer is on fire' },
    ]);
    const seenByB = await as(app, b.agent).get('/tickets');
    expect(seenByB.status).toBe(200);
    expect(seenByB.body.items.map((t: { subject: string }) => t.subject)).not.toContain(subject);
    const seenByA = await as(app, a.agent).get('/tickets');
    expect(
      seenByA.body.items.filter((t: { subject: string }) => t.subject === subject),
    ).toHaveLength(1);
    expect((await channel.checkQueue(deadQueue)).messageCount).toBe(0);
  });

  describe('refuses a message without a valid tenant token: no ticket, dead-lettered, logged', () => {
    const cases: { name: string; token: () => string | undefined; reason: string }[] = [
      { name: 'no token', token: () => undefined, reason: 'missing bearer token' },
      {
        name: 'a forged signature',
        token: () =>
          signToken('another-secret-0123456789abcdefghijkl', {
            tenantId: a.id,
            userId: a.agentId,
            role: 'agent',
          }),
        reason: 'invalid token signature',
      },
      {
        name: 'an expired token',
        token: () =>
          sign(
            { tenant_id: a.id, role: 'agent', exp: Math.floor(Date.now() / 1000) - 60 },
            JWT_SECRET,
            { algorithm: 'HS256', subject: a.agentId },
          ),
        reason: 'token expired',
      },
      {
        name: 'an unknown tenant',
        token: () =>
          signToken(JWT_SECRET, { tenantId: randomUUID(), userId: randomUUID(), role: 'agent' }),
        reason: 'unknown tenant',
      },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}`, async () => {
        const subject = `refused ${randomUUID()}`;
        publishEmail({ subject }, c.token());
        const dead = await nextDead();
        expect(JSON.parse(deadPayload(dead))).toEqual({
          pattern: 'inbound-email',
          data: { subject },
        });
        expect(dead.properties.headers?.['x-death']?.[0]).toMatchObject({
          queue,
          reason: 'rejected',
          count: 1,
        });
        expect(await ticketsWithSubject(subject)).toEqual([]);
        expect(refusalLogged(c.reason)).toBe(true);
      });
    }

    it('refuses a suspended tenant', async () => {
      const suspended = await createTenant(owner, 'inbound-suspended', 'suspended');
      const subject = `suspended ${randomUUID()}`;
      publishEmail(
        { subject },
        signToken(JWT_SECRET, { tenantId: suspended, userId: randomUUID(), role: 'admin' }),
      );
      await nextDead();
      expect(await ticketsWithSubject(subject)).toEqual([]);
      expect(refusalLogged('tenant is suspended')).toBe(true);
      expect(
        logger.lines.some((l) => l.includes('message refused (403 tenant is suspended)')),
      ).toBe(true);
    });
  });

  it('dead-letters a poison message (not JSON) and still processes the next one', async () => {
    publish('{"pattern": "inbound-email", "data": {not json', {
      authorization: `Bearer ${a.agent}`,
    });
    const subject = `after poison ${randomUUID()}`;
    publishEmail({ subject }, a.agent);
    expect(deadPayload(await nextDead())).toBe('{"pattern": "inbound-email", "data": {not json');
    const rows = await eventually(async () => {
      const found = await ticketsWithSubject(subject);
      return found.length ? found : undefined;
    }, 'the ticket after the poison message');
    expect(rows.map((r) => r.tenant_id)).toEqual([a.id]);
  });

  it('dead-letters an invalid payload, saying which field, and processes the next one', async () => {
    publishEmail({ subject: 42, priority: 'whenever', tenant_id: b.id }, a.agent);
    const subject = `after invalid ${randomUUID()}`;
    publishEmail({ subject }, a.agent);
    const dead = await nextDead();
    expect(JSON.parse(deadPayload(dead)).data.subject).toBe(42);
    expect(refusalLogged('invalid payload: ')).toBe(true);
    expect(logger.lines.some((l) => l.includes('subject: subject must be a string'))).toBe(true);
    expect(logger.lines.some((l) => l.includes('property tenant_id should not exist'))).toBe(true);
    const rows = await eventually(async () => {
      const found = await ticketsWithSubject(subject);
      return found.length ? found : undefined;
    }, 'the ticket after the invalid message');
    expect(rows.map((r) => r.tenant_id)).toEqual([a.id]);
  });

  it('dead-letters a message whose handler fails once, without retrying it', async () => {
    const subject = `nul \u0000 ${randomUUID()}`;
    publishEmail({ subject }, a.agent);
    const dead = await nextDead();
    expect(JSON.parse(deadPayload(dead)).data.subject).toBe(subject);
    expect(dead.fields.redelivered).toBe(false);
    expect(dead.properties.headers?.['x-death']?.[0]).toMatchObject({
      count: 1,
      reason: 'rejected',
    });
    expect(refusalLogged('invalid value')).toBe(true);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    expect((await channel.checkQueue(deadQueue)).messageCount).toBe(0);
    const count = await dbRows<{ n: number }>(
      admin,
      `SELECT count(*)::int AS n FROM support.tickets WHERE subject LIKE 'nul %'`,
    );
    expect(count).toEqual([{ n: 0 }]);
  });

  it('never lets a message reuse the context of the one before it', async () => {
    const first = `first ${randomUUID()}`;
    const second = `second ${randomUUID()}`;
    publishEmail({ subject: first }, a.agent);
    publishEmail({ subject: second });
    expect(JSON.parse(deadPayload(await nextDead())).data).toEqual({ subject: second });
    await eventually(
      async () => ((await ticketsWithSubject(first)).length ? true : undefined),
      'first',
    );
    expect(await ticketsWithSubject(second)).toEqual([]);
  });

  it('POST /inbound-emails publishes with the caller’s token; the consumer files it in that tenant', async () => {
    const subject = `round trip ${randomUUID()}`;
    const res = await as(app, b.admin).post('/inbound-emails', { subject, body: 'via HTTP' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ queued: true });
    const rows = await eventually(async () => {
      const found = await ticketsWithSubject(subject);
      return found.length ? found : undefined;
    }, 'the round-trip ticket');
    expect(rows).toEqual([{ tenant_id: b.id, requester_id: b.adminId, description: 'via HTTP' }]);
    const seenByA = await as(app, a.agent).get('/tickets');
    expect(seenByA.body.items.map((t: { subject: string }) => t.subject)).not.toContain(subject);
  });

  it('POST /inbound-emails refuses an invalid body before anything is queued', async () => {
    const res = await as(app, a.agent).post('/inbound-emails', { body: 'no subject' });
    expect(res.status).toBe(400);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
  });
});
