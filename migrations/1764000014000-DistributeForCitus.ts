import { MigrationInterface, QueryRunner } from 'typeorm';
import { tenancyMigrations } from '@app/tenancy';

/** Tenant tables (tenant_id NOT NULL) of both apps and the library: distributed by tenant_id, colocated. */
export const CITUS_DISTRIBUTED_TABLES = [
  'tenancy.audit_log',
  'support.agents',
  'support.tickets',
  'support.ticket_comments',
  'sales.team_members',
  'sales.accounts',
  'sales.deals',
];

/**
 * Tables copied to every node: the tenant registry, which every tenant table references, and the
 * knowledge base, whose global rows (`tenant_id IS NULL`) belong to no tenant's shard.
 */
export const CITUS_REFERENCE_TABLES = ['tenancy.tenants', 'support.kb_articles'];

/**
 * On a database with the `citus` extension, replicates the reference tables to every node and
 * distributes the tenant tables by `tenant_id`, colocated, so that one tenant's rows of every table
 * live on one node; on plain PostgreSQL it only logs that Citus is not installed. Run
 * `nestjs-rls-tenancy check --profile citus` first: Citus refuses what it reports (docs/scale-out.md).
 */
export class DistributeForCitus1764000014000 implements MigrationInterface {
  name = 'DistributeForCitus1764000014000';

  async up(q: QueryRunner): Promise<void> {
    await tenancyMigrations().distributeTenantTables(q, {
      tables: CITUS_DISTRIBUTED_TABLES,
      referenceTables: CITUS_REFERENCE_TABLES,
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await tenancyMigrations().undistributeTenantTables(q, {
      tables: CITUS_DISTRIBUTED_TABLES,
      referenceTables: CITUS_REFERENCE_TABLES,
    });
  }
}
