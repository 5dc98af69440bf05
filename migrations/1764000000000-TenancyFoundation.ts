import { MigrationInterface, QueryRunner } from 'typeorm';
import {
  currentTenantExpression,
  ensureAppRole,
  grantSchemaUsage,
  revokeSchemaUsage,
} from '@app/tenancy';
import { appRole } from './migration-env';

const SCHEMAS = ['tenancy', 'support', 'sales'];

/** Schemas, the application role and the tenant registry. */
export class TenancyFoundation1764000000000 implements MigrationInterface {
  name = 'TenancyFoundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    const role = appRole();
    for (const s of SCHEMAS) await q.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await ensureAppRole(q, role);
    await grantSchemaUsage(q, SCHEMAS, role);
    await q.query(`
      CREATE TABLE tenancy.tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The registry is platform data: the owner manages it; the app role reads only its own tenant's row.
    await q.query(`ALTER TABLE tenancy.tenants ENABLE ROW LEVEL SECURITY`);
    await q.query(
      `CREATE POLICY tenant_self_read ON tenancy.tenants FOR SELECT TO "${role}"
         USING (id = ${currentTenantExpression()})`,
    );
    await q.query(`GRANT SELECT ON tenancy.tenants TO "${role}"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE tenancy.tenants`);
    await revokeSchemaUsage(q, SCHEMAS, appRole());
    for (const s of [...SCHEMAS].reverse()) await q.query(`DROP SCHEMA ${s}`);
  }
}
