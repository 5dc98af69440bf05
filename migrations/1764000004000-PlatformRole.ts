import { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureAppRole, grantSchemaUsage, revokeSchemaUsage } from '@app/tenancy';
import { platformRole } from './migration-env';

/**
 * The platform role for explicit cross-tenant work in the apps (runAsPlatform): it reads the tenant
 * registry and nothing else, so listing tenants for a job never needs the owner's credentials.
 */
export class PlatformRole1764000004000 implements MigrationInterface {
  name = 'PlatformRole1764000004000';

  async up(q: QueryRunner): Promise<void> {
    const role = platformRole();
    await ensureAppRole(q, role);
    await grantSchemaUsage(q, ['tenancy'], role);
    await q.query(`GRANT SELECT ON tenancy.tenants TO "${role}"`);
    await q.query(
      `CREATE POLICY platform_read ON tenancy.tenants FOR SELECT TO "${role}" USING (true)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const role = platformRole();
    await q.query(`DROP POLICY platform_read ON tenancy.tenants`);
    await q.query(`REVOKE ALL ON tenancy.tenants FROM "${role}"`);
    await revokeSchemaUsage(q, ['tenancy'], role);
  }
}
