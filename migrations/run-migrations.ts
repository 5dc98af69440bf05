import { DataSource } from 'typeorm';
import { ownerDataSourceOptions } from './data-source.options';

/** Runs every pending migration as the owner at `ownerUrl`; returns the names it ran. */
export async function migrateUp(ownerUrl: string): Promise<string[]> {
  const ds = await new DataSource(ownerDataSourceOptions(ownerUrl)).initialize();
  try {
    return (await ds.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** Reverts the last `steps` migrations (all of them by default) as the owner at `ownerUrl`. */
export async function migrateDown(ownerUrl: string, steps = Infinity): Promise<number> {
  const ds = await new DataSource(ownerDataSourceOptions(ownerUrl)).initialize();
  let reverted = 0;
  try {
    while (reverted < steps) {
      const executed = await ds.query(`SELECT count(*)::int AS n FROM public.typeorm_migrations`);
      if (!executed[0].n) break;
      await ds.undoLastMigration({ transaction: 'each' });
      reverted++;
    }
    return reverted;
  } finally {
    await ds.destroy();
  }
}
