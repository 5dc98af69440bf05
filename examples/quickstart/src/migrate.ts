import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { Tickets1700000000000 } from './migrations/1700000000000-Tickets';

/** The owner's DataSource: runs the migrations (never the app's connection). */
export function ownerDataSource(url: string): DataSource {
  return new DataSource({ type: 'postgres', url, migrations: [Tickets1700000000000] });
}

if (require.main === module) {
  const ds = ownerDataSource(process.env.OWNER_DATABASE_URL!);
  ds.initialize()
    .then(() => ds.runMigrations())
    .then(() => ds.destroy())
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}
