import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { PreparedDatabase, prepareDatabase, startPostgres } from '@app/dev-postgres';

/** The demo database and how to let it go. */
export interface DemoDatabase {
  db: PreparedDatabase;
  /** Stops the embedded server if this process started it. */
  close(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** The demo's PostgreSQL server and how to let it go. */
export interface DemoServer {
  /** Superuser URL, database `postgres`. */
  adminUrl: string;
  /** Stops the embedded server if this process started it. */
  close(): Promise<void>;
}

/**
 * The demo's embedded server for command-line tools: the one `npm run demo` is running, else one
 * started on the demo's data directory (`DEMO_DATA_DIR`, port `DEMO_PG_PORT`).
 */
export async function openDemoServer(): Promise<DemoServer> {
  const port = Number(process.env.DEMO_PG_PORT ?? 54329);
  const runningUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  if (await answers(runningUrl)) return { adminUrl: runningUrl, close: async () => {} };
  const dataDir = resolve(process.env.DEMO_DATA_DIR ?? '.data/postgres');
  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    throw new Error('no demo database yet: run `npm run demo` once (or set DATABASE_URL)');
  }
  const server = await startPostgres({ purpose: 'demo', dataDir, port });
  return { adminUrl: server.adminUrl, close: () => server.stop() };
}

/** The name of the demo's database: `DEMO_DATABASE`, default `tenancy_demo`. */
export function demoDatabaseName(): string {
  return process.env.DEMO_DATABASE ?? 'tenancy_demo';
}

/**
 * The demo's database for command-line tools: on `DATABASE_URL` when set; otherwise on the demo's
 * embedded server (see {@link openDemoServer}), with its roles and database made sure of.
 */
export async function openDemoDatabase(): Promise<DemoDatabase> {
  if (process.env.DATABASE_URL) {
    return {
      db: await prepareDatabase(process.env.DATABASE_URL, demoDatabaseName()),
      close: async () => {},
    };
  }
  const server = await openDemoServer();
  try {
    return { db: await prepareDatabase(server.adminUrl, demoDatabaseName()), close: server.close };
  } catch (error) {
    await server.close();
    throw error;
  }
}
