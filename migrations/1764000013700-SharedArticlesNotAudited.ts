import { MigrationInterface, QueryRunner } from 'typeorm';
import { disableAuditTrail, enableAuditTrail } from '@app/tenancy';

/**
 * The knowledge base leaves the audit trail. It holds the shared articles (tenant_id NULL), so on
 * Citus it is a reference table, copied to every node, and a trigger on it would fire on every
 * copy and write into the tenant's shard of tenancy.audit_log from other nodes, which Citus
 * refuses (`check --profile citus` reports it as CITUS_TRIGGER). The trail keeps tickets,
 * comments, team members, accounts and deals; article edits are not recorded (the audit trail
 * never recorded the shared rows, which belong to no tenant).
 */
export class SharedArticlesNotAudited1764000013700 implements MigrationInterface {
  name = 'SharedArticlesNotAudited1764000013700';

  async up(q: QueryRunner): Promise<void> {
    await disableAuditTrail(q, 'support.kb_articles');
  }

  async down(q: QueryRunner): Promise<void> {
    await enableAuditTrail(q, 'support.kb_articles', { exclude: ['search'] });
  }
}
