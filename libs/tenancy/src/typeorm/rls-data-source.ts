import { DataSource, QueryRunner } from 'typeorm';
import { TenancySettingNames } from '../tenancy.constants';
import { INSTALLED } from '../tenancy.internal-constants';
import { RlsTransactionSubscriber } from './rls-transaction.subscriber';
import { TenantRelationLoader } from './tenant-relation-loader';
import { TenantTransaction } from './tenant-transaction';

/** What the installed DataSource asks for on every createQueryRunner(). */
export interface ScopeLookup {
  /** The open tenant transaction of the current async context, if any. */
  transaction(): TenantTransaction | undefined;
  /** Throws when a tenant context exists without a transaction; returns otherwise. */
  assertNoOrphanContext(): void;
}

type Installed = DataSource & {
  [INSTALLED]?: { original: (mode?: 'master' | 'slave') => QueryRunner };
};

/**
 * Routes the DataSource's query runners through the current tenant transaction: inside a scope,
 * `createQueryRunner()` returns the scope's runner; outside one it returns a plain runner (no
 * settings, so RLS shows no rows). Also registers the subscriber that writes the settings, and
 * loads lazy relations with a {@link TenantRelationLoader} (a lazy load refused after its scope
 * ended rejects the caller's promise instead of also raising an unhandled rejection).
 * Returns the original `createQueryRunner`, which tenant transactions use to get their connection.
 */
export function installRlsDataSource(
  dataSource: DataSource,
  scopes: ScopeLookup,
  settings: TenancySettingNames,
  roleFunction?: string,
): (mode?: 'master' | 'slave') => QueryRunner {
  const ds = dataSource as Installed;
  if (ds[INSTALLED]) return ds[INSTALLED].original;
  const original = dataSource.createQueryRunner.bind(dataSource);
  ds[INSTALLED] = { original };
  dataSource.createQueryRunner = (mode?: 'master' | 'slave') => {
    const tx = scopes.transaction();
    if (tx) return tx.queryRunner();
    scopes.assertNoOrphanContext();
    return original(mode);
  };
  dataSource.subscribers.push(new RlsTransactionSubscriber(settings, roleFunction));
  installRelationLoader(dataSource);
  return original;
}

/**
 * Loads lazy relations through a {@link TenantRelationLoader}: entities TypeORM creates from now on
 * get it per instance, and entity classes (for `new Entity()`) on their prototypes, as TypeORM's
 * own metadata builder does at initialize().
 */
function installRelationLoader(dataSource: DataSource): void {
  const loader = new TenantRelationLoader(dataSource);
  (dataSource as { relationLoader: TenantRelationLoader }).relationLoader = loader;
  if (!dataSource.isInitialized) return;
  for (const metadata of dataSource.entityMetadatas) {
    if (typeof metadata.target !== 'function') continue;
    for (const relation of metadata.lazyRelations) {
      loader.enableLazyLoad(relation, metadata.target.prototype as object);
    }
  }
}
