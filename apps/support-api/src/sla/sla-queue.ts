/** Name of the BullMQ queue of the SLA escalation jobs (one per tenant and run). */
export const SLA_QUEUE = 'support-sla';

/** Name of an SLA escalation job. */
export const SLA_ESCALATE_JOB = 'escalate';

/** Escalation jobs one worker runs at once (each in its own tenant's transaction). */
export const SLA_CONCURRENCY = 4;

/** The data of an SLA escalation job; its tenant is the one that enqueued it, never in here. */
export interface SlaEscalation {
  /** The run's "now" (ISO time): tickets created before `now - olderThanMs` are overdue. */
  now: string;
  /** The threshold of the run that enqueued the job (ms). */
  olderThanMs: number;
}

/**
 * Where support-api's queued jobs live: Redis (BullMQ) and the secret that signs each job's tenant
 * envelope (`nestjs-rls-tenancy/jobs`).
 */
export interface SupportJobsConfig {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  redisUrl: string;
  /** BullMQ key prefix. Default: BullMQ's (`bull`). */
  prefix?: string;
  /** At least 32 characters; every instance of the app needs the same one. */
  secret: string;
}

/** BullMQ connection options for a `redis://` or `rediss://` URL. */
export function redisOptionsFromUrl(redisUrl: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
} {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`jobs.redisUrl must be a redis:// or rediss:// URL, not ${url.protocol}`);
  }
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The jobs config from the environment: `REDIS_URL` and `JOB_SECRET` (required with it);
 * `undefined` without `REDIS_URL` (the SLA job is then not scheduled, and a log line says so).
 */
export function supportJobsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): SupportJobsConfig | undefined {
  const redisUrl = env.REDIS_URL?.trim();
  if (!redisUrl) return undefined;
  const secret = env.JOB_SECRET?.trim();
  if (!secret) throw new Error('JOB_SECRET (at least 32 characters) is required with REDIS_URL');
  return { redisUrl, secret, prefix: env.JOB_PREFIX?.trim() || undefined };
}
