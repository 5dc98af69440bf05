import 'tsconfig-paths/register';
import { mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDatabase, startPostgres } from '@app/dev-postgres';
import { migrateUp } from '../../migrations/run-migrations';
import { TEST_ENV } from '../support/test-env';

/**
 * Starts PostgreSQL (DATABASE_URL, TEST_POSTGRES_IMAGE or embedded), creates a fresh database for
 * this run, migrates it as the owner, and publishes the URLs through the environment to the tests.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tenancy-test-pg-'));
  const pg = await startPostgres({ purpose: 'test', dataDir });
  const database = `tenancy_test_${process.pid}_${Date.now().toString(36)}`;
  const db = await prepareDatabase(pg.adminUrl, database);
  await migrateUp(db.ownerUrl);
  process.env[TEST_ENV.serverAdminUrl] = pg.adminUrl;
  process.env[TEST_ENV.adminUrl] = db.adminUrl;
  process.env[TEST_ENV.ownerUrl] = db.ownerUrl;
  process.env[TEST_ENV.appUrl] = db.appUrl;
  process.env[TEST_ENV.database] = database;
  (globalThis as Record<string, unknown>).__TENANCY_TEST_PG__ = { pg, database, dataDir };
  console.log(`\n[tests] PostgreSQL: ${pg.description}; database ${database}`);
  await warnUnlessAnswering('REDIS_URL', 'redis://127.0.0.1:6379', 'Redis', [
    'test/jobs',
    'test/sla',
    'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""',
  ]);
  await warnUnlessAnswering('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', 'RabbitMQ', [
    'test/microservices',
    'test/support-api/inbound-email',
    'rabbitmq-server -detached',
  ]);
}

/** Says up front which suites will fail, and how to start the server, when one does not answer. */
async function warnUnlessAnswering(
  variable: string,
  fallback: string,
  name: string,
  [suiteA, suiteB, start]: string[],
): Promise<void> {
  const url = new URL(process.env[variable] ?? fallback);
  const port = Number(url.port);
  const answers = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: url.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
  if (!answers) {
    console.warn(
      `[tests] ${name} does not answer at ${url.hostname}:${port} (${variable}): ${suiteA} and ${suiteB} will fail; start it (${start}) or set ${variable}`,
    );
  }
}
