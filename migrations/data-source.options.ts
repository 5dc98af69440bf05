import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './index';

/** Connection options for the owner role, which runs migrations and owns every object. */
export function ownerDataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    applicationName: 'tenancy-migrations',
  };
}
