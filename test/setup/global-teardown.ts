import 'tsconfig-paths/register';
import { rmSync } from 'node:fs';
import { dropDatabase, RunningPostgres } from '@app/dev-postgres';

/** Drops the run's database and stops the server this run started. */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__TENANCY_TEST_PG__ as
    { pg: RunningPostgres; database: string; dataDir: string } | undefined;
  if (!state) return;
  await dropDatabase(state.pg.adminUrl, state.database);
  await state.pg.stop();
  rmSync(state.dataDir, { recursive: true, force: true });
}
