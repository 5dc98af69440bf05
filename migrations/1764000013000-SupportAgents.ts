import { MigrationInterface, QueryRunner } from 'typeorm';
import { enableTenantRls } from '@app/tenancy';
import { appRole } from './migration-env';

/**
 * `support.agents`: the users of each tenant a ticket may be assigned to. A ticket's assignee must
 * be one of its own tenant's agents, by a foreign key `(tenant_id, assignee_id)`: the database
 * refuses another tenant's user or an unknown uuid, whatever the application checks. Removing an
 * agent unassigns their tickets. Existing assignees become agents (the tickets' FORCE ROW LEVEL
 * SECURITY is lifted for that one statement, inside this migration's transaction, so that the owner
 * reads every tenant's tickets).
 */
export class SupportAgents1764000013000 implements MigrationInterface {
  name = 'SupportAgents1764000013000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE support.agents (
        tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
        user_id uuid NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, user_id)
      )`);
    await q.query(`ALTER TABLE support.tickets NO FORCE ROW LEVEL SECURITY`);
    await q.query(`
      INSERT INTO support.agents (tenant_id, user_id)
      SELECT DISTINCT tenant_id, assignee_id FROM support.tickets WHERE assignee_id IS NOT NULL`);
    await q.query(`ALTER TABLE support.tickets FORCE ROW LEVEL SECURITY`);
    await enableTenantRls(q, 'support.agents', { appRole: appRole() });
    await q.query(`
      ALTER TABLE support.tickets ADD CONSTRAINT tickets_assignee_agent_fkey
        FOREIGN KEY (tenant_id, assignee_id) REFERENCES support.agents (tenant_id, user_id)
        ON DELETE SET NULL (assignee_id)`);
    await q.query(
      `CREATE INDEX tickets_assignee_idx ON support.tickets (tenant_id, assignee_id)
         WHERE assignee_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX support.tickets_assignee_idx`);
    await q.query(`ALTER TABLE support.tickets DROP CONSTRAINT tickets_assignee_agent_fkey`);
    await q.query(`DROP TABLE support.agents`);
  }
}
