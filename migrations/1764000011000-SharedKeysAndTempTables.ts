import { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureAppRole, restrictSharedKeyWrites } from '@app/tenancy';
import { appRole } from './migration-env';

/**
 * Brings a database migrated before these guarantees to what the earlier migrations now create:
 * the application role may no longer choose `support.kb_articles.id` (INSERT and UPDATE only on
 * the other columns, so a taken id no longer answers with a unique violation whose article belongs
 * to another tenant) and may not create temporary tables (TEMPORARY revoked from PUBLIC on this
 * database; its owner keeps it). On a database migrated from scratch today, `enableSharedRls` in
 * SupportSchema1764000001000 and `ensureAppRole` in TenancyFoundation1764000000000 (and the dev
 * set-up's `prepareDatabase`) did both already, and this changes nothing.
 */
export class SharedKeysAndTempTables1764000011000 implements MigrationInterface {
  name = 'SharedKeysAndTempTables1764000011000';

  async up(q: QueryRunner): Promise<void> {
    await ensureAppRole(q, appRole());
    await restrictSharedKeyWrites(q, 'support.kb_articles', { appRole: appRole() });
  }

  /**
   * Changes nothing: the catalog before `up()` is what the earlier migrations create today, which
   * already has these grants. On a database migrated before them, the fix stays: putting back the
   * table-wide INSERT/UPDATE and PUBLIC's TEMPORARY would only reopen both leaks, and no earlier
   * migration's `down()` depends on them.
   */
  async down(): Promise<void> {}
}
