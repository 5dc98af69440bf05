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

/**
 * The demo's database for command-line tools: on `DATABASE_URL` when set; otherwise on the demo's
 * embedded server, reusing it when `npm run demo` is running and starting it on its data otherwise.
 */
export async function openDemoDatabase(): Promise<DemoDatabase> {
  const database = process.env.DEMO_DATABASE ?? 'tenancy_demo';
  if (process.env.DATABASE_URL) {
    return { db: await prepareDatabase(process.env.DATABASE_URL, database), close: async () => {} };
  }
  const port = Number(process.env.DEMO_PG_PORT ?? 54329);
  const runningUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  if (await answers(runningUrl)) {
    return { db: await prepareDatabase(runningUrl, database), close: async () => {} };
  }
  const dataDir = resolve(process.env.DEMO_DATA_DIR ?? '.data/postgres');
  if (!existsSync(`${dataDir}/PG_VERSION`)) {
    throw new Error('no demo database yet: run `npm run demo` once (or set DATABASE_URL)');
  }
  const server = await startPostgres({ purpose: 'demo', dataDir, port });
  return { db: await prepareDatabase(server.adminUrl, database), close: () => server.stop() };
}
