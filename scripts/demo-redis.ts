import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';

/** The job-envelope secret the demo uses when JOB_SECRET is not set (never in production). */
export const DEV_JOB_SECRET = 'dev-only-insecure-job-secret-change-me-0123';

/** The Redis the demo's SLA jobs use, and how it was found. */
export interface DemoRedis {
  /** The URL, when a Redis answers there. */
  url?: string;
  /** One line for the demo's banner. */
  note: string;
}

/** True when a Redis server answers PING at host:port within 1 s. */
function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Uses the Redis at REDIS_URL (default redis://127.0.0.1:6379); when nothing answers on this
 * machine's loopback, starts one with `redis-server --daemonize yes --save ""` (it keeps running
 * after the demo stops). Without Redis, the demo runs without the SLA job and says why.
 */
export async function ensureDemoRedis(env: NodeJS.ProcessEnv = process.env): Promise<DemoRedis> {
  const url = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  const { hostname, port: rawPort } = new URL(url);
  const port = Number(rawPort || 6379);
  if (await ping(hostname, port)) return { url, note: `Redis (SLA jobs): ${url}` };
  if (!['127.0.0.1', 'localhost'].includes(hostname)) {
    return { note: `Redis (SLA jobs): nothing answers at ${url}` };
  }
  const started = spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', ''],
    { stdio: 'ignore' },
  );
  if (started.error || started.status !== 0) {
    return {
      note: `Redis (SLA jobs): nothing answers at ${url}, and redis-server could not start`,
    };
  }
  for (let i = 0; i < 50; i++) {
    if (await ping('127.0.0.1', port)) {
      return {
        url,
        note: `Redis (SLA jobs): started redis-server on 127.0.0.1:${port} (it keeps running)`,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { note: `Redis (SLA jobs): redis-server on 127.0.0.1:${port} did not answer` };
}
