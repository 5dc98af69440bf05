import 'tsconfig-paths/register';
import { mkdtempSync } from 'node:fs';
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
}
