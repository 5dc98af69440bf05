import { MigrationInterface, QueryRunner } from 'typeorm';
import { tenancy } from './tenancy';

export class Tickets1700000000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await tenancy.ensureAppRole(q);
    await tenancy.createTenantRegistry(q);
    await q.query('CREATE SCHEMA IF NOT EXISTS app');
    await tenancy.grantSchemaUsage(q, ['app']);
    await q.query(`CREATE TABLE app.tickets (
      tenant_id uuid NOT NULL REFERENCES tenancy.tenants (id),
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      subject text NOT NULL,
      requester_id uuid NOT NULL,
      PRIMARY KEY (tenant_id, id))`);
    await tenancy.enableTenantRls(q, 'app.tickets');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE app.tickets');
    await tenancy.revokeSchemaUsage(q, ['app']);
    await q.query('DROP SCHEMA app');
    await tenancy.dropTenantRegistry(q);
  }
}
