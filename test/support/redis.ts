import { randomUUID } from 'node:crypto';

/** The Redis the suites' BullMQ queues use: REDIS_URL, or 127.0.0.1:6379. */
export function redisConnection(): { host: string; port: number; password?: string; db?: number } {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
  };
}

/** A BullMQ key prefix of its own for one suite run, so that runs never share a queue. */
export function uniqueQueuePrefix(label: string): string {
  return `tenancy-test-${label}-${process.pid}-${randomUUID().slice(0, 8)}`;
}
