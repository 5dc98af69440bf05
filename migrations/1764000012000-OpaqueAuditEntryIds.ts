import { MigrationInterface, QueryRunner } from 'typeorm';
import { setAuditEntryIds } from '@app/tenancy';
import { appRole } from './migration-env';

/**
 * Audit entry ids say nothing about other tenants. They came from one bigint identity shared by
 * every tenant, so an admin paging their tenant's log saw gaps that counted every other tenant's
 * audited writes; now each entry has a random uuid, entries are ordered by `(occurred_at, id)` with
 * a clock that never repeats within a transaction, and the app role no longer reads
 * `transaction_id` (a server-wide counter too). Existing entries keep their order both ways.
 */
export class OpaqueAuditEntryIds1764000012000 implements MigrationInterface {
  name = 'OpaqueAuditEntryIds1764000012000';

  async up(q: QueryRunner): Promise<void> {
    await setAuditEntryIds(q, 'opaque', { appRole: appRole() });
  }

  async down(q: QueryRunner): Promise<void> {
    await setAuditEntryIds(q, 'sequence', { appRole: appRole() });
  }
}
