import { DataSource } from 'typeorm';
import { ownerDataSourceOptions } from './data-source.options';

/**
 * The TypeORM CLI's data source (and only the CLI's): connects as the owner role given by
 * `DATABASE_URL`, e.g.
 * `node -r ts-node/register -r tsconfig-paths/register node_modules/typeorm/cli.js -d migrations/data-source.ts migration:show`
 * (`npx typeorm-ts-node-commonjs` cannot resolve `@app/tenancy`).
 */
export default new DataSource(ownerDataSourceOptions(process.env.DATABASE_URL ?? ''));
