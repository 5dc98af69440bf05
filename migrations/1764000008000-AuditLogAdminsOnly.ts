import { MigrationInterface, QueryRunner } from 'typeorm';
import { setAuditLogReaders } from '@app/tenancy';

/**
 * Only a tenant's admins read its audit log, by policy. Entries carry the old and new values of
 * every audited row, including deals a rep or manager may not read in `sales.deals`; until now only
 * the apps' `@Roles('admin')` on `GET /audit` kept them from other roles, so a route or query that
 * forgot it would have shown them. The trigger still writes every entry, whoever the writer is.
 */
export class AuditLogAdminsOnly1764000008000 implements MigrationInterface {
  name = 'AuditLogAdminsOnly1764000008000';

  async up(q: QueryRunner): Promise<void> {
    await setAuditLogReaders(q, ['admin']);
  }

  async down(q: QueryRunner): Promise<void> {
    await setAuditLogReaders(q, undefined);
  }
}
