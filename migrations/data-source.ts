import { DataSource } from 'typeorm';
import { ownerDataSourceOptions } from './data-source.options';

/**
 * The TypeORM CLI's data source (and only the CLI's): connects as the owner role given by
 * `DATABASE_URL`, e.g. `npx typeorm-ts-node-commonjs -d migrations/data-source.ts migration:show`.
 */
export default new DataSource(ownerDataSourceOptions(process.env.DATABASE_URL ?? ''));
