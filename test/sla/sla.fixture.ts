import { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { defaultRoles, withCredentials } from '@app/dev-postgres';
import { signToken } from '@app/demo-kit';
import { SupportApiConfig } from '../../apps/support-api/src/support-api.config';
import { createSupportApp } from '../../apps/support-api/src/support-app';
import { SLA_QUEUE } from '../../apps/support-api/src/sla/sla-queue';
import { inTenant } from '../support/db';
import { redisConnection, uniqueQueuePrefix } from '../support/redis';
import { testUrl } from '../support/test-env';

/** Signing secret of the SLA suites' apps. */
export const SLA_SECRET = 'sla-e2e-secret-0123456789abcdefghijklmnop';

/** One day in milliseconds: the threshold the suites use. */
export const DAY = 24 * 60 * 60 * 1000;

/**
 * The "now" the suites hand to runOnce(): far before any ticket other suites create, so a run
 * can only ever escalate the tickets these suites backdate.
 */
export const NOW = new Date('2000-01-01T00:00:00.000Z');

/** A time `ms` milliseconds before {@link NOW}. */
export function before(ms: number): Date {
  return new Date(NOW.getTime() - ms);
}

/** The `tenancy_platform` role's URL for the test database (the role reads only the registry). */
export function platformUrl(): string {
  const roles = defaultRoles();
  return withCredentials(testUrl('ownerUrl'), {
    user: roles.platform,
    password: roles.platformPassword,
  });
}

/** Secret of the SLA suites' job envelopes. */
export const SLA_JOB_SECRET = 'sla-e2e-job-secret-0123456789abcdefghijklmn';

const prefixes: string[] = [];

/** The jobs config of one SLA app: the suites' Redis, under a key prefix of its own. */
export function slaJobsConfig(): NonNullable<SupportApiConfig['jobs']> {
  const prefix = uniqueQueuePrefix('sla');
  prefixes.push(prefix);
  const { host, port } = redisConnection();
  return { redisUrl: `redis://${host}:${port}`, prefix, secret: SLA_JOB_SECRET };
}

/** Removes the SLA queues of every app this file started (call after closing them). */
export async function dropSlaQueues(): Promise<void> {
  for (const prefix of prefixes.splice(0)) {
    const queue = new Queue(SLA_QUEUE, { connection: redisConnection(), prefix });
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/**
 * Boots support-api as the app role with the platform connection, its own SLA queue and an hourly
 * SLA job whose failed tenant jobs are retried quickly (3 attempts, 10 ms then 20 ms apart).
 */
export function startSlaApp(config: Partial<SupportApiConfig> = {}): Promise<INestApplication> {
  return createSupportApp({
    databaseUrl: testUrl('appUrl'),
    platformDatabaseUrl: platformUrl(),
    jwtSecret: SLA_SECRET,
    logger: false,
    sla: { everyMs: 60 * 60 * 1000, olderThanMs: DAY, retryDelayMs: 10 },
    jobs: slaJobsConfig(),
    ...config,
  });
}

/** An admin token for a tenant (a fresh user). */
export function adminToken(tenantId: string): string {
  return signToken(SLA_SECRET, { tenantId, userId: randomUUID(), role: 'admin' });
}

/** A ticket to backdate into a tenant. */
export interface SeedTicket {
  status?: 'open' | 'pending' | 'solved' | 'closed';
  priority?: 'low' | 'normal' | 'high' | 'urgent';
  createdAt: Date;
}

/** Inserts a ticket as the owner inside the tenant's transaction (created and updated at `createdAt`). */
export async function insertTicket(
  owner: Client,
  tenantId: string,
  t: SeedTicket,
): Promise<string> {
  const id = randomUUID();
  const requester = randomUUID();
  await inTenant(
    owner,
    tenantId,
    () =>
      owner.query(
        `INSERT INTO support.tickets (tenant_id, id, subject, status, priority, requester_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [
          tenantId,
          id,
          `ticket ${id.slice(0, 8)}`,
          t.status ?? 'open',
          t.priority ?? 'normal',
          requester,
          t.createdAt,
        ],
      ),
    { userId: requester, role: 'agent' },
  );
  return id;
}

/** A stored ticket as the superuser reads it. */
export interface StoredTicket {
  id: string;
  status: string;
  priority: string;
  updated_at: Date;
}

/** The tickets of a tenant by id, read as the superuser. */
export async function ticketsOf(
  admin: Client,
  tenantId: string,
): Promise<Record<string, StoredTicket>> {
  const rows = await admin.query<StoredTicket>(
    `SELECT id, status, priority, updated_at FROM support.tickets WHERE tenant_id = $1`,
    [tenantId],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.id, r]));
}

/** A stored comment as the superuser reads it. */
export interface StoredComment {
  ticket_id: string;
  author_id: string;
  body: string;
}

/** The comments of a tenant, read as the superuser, ordered by ticket. */
export async function commentsOf(admin: Client, tenantId: string): Promise<StoredComment[]> {
  const rows = await admin.query<StoredComment>(
    `SELECT ticket_id, author_id, body FROM support.ticket_comments WHERE tenant_id = $1 ORDER BY ticket_id, created_at`,
    [tenantId],
  );
  return rows.rows;
}
