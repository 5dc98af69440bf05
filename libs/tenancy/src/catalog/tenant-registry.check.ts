import { DEFAULT_APP_ROLE, DEFAULT_SETTING_NAMES } from '../tenancy.constants';
import { currentTenantExpression } from '../migrations/setting-expression';
import { qualifiedTable, rowsOf, SqlExecutor } from '../migrations/sql';
import { DEFAULT_TENANT_REGISTRY } from '../migrations/tenant-registry.migration-helpers';
import type { CatalogFinding } from './catalog-check';

/** Options of {@link checkTenantRegistry}. */
export interface TenantRegistryCheckOptions {
  /** The role the application logs in as. Default: `app_user`. */
  appRole?: string;
  /** Setting that holds the current tenant (for the policy a finding proposes). Default: `app.tenant_id`. */
  tenantSetting?: string;
  /** The registry, `schema.table`. Default: `tenancy.tenants`. */
  table?: string;
}

interface RegistryRow {
  role_exists: boolean;
  table_exists: boolean;
  columns: string[];
  schema_usage: boolean;
  readable: boolean;
  rls_applies: boolean;
  policy: boolean;
}

/**
 * Checks, from the catalog, that the application role can read the tenant registry the way the
 * default status lookup does (`SELECT status FROM tenancy.tenants WHERE id = $1` in the tenant's
 * own context): the table exists with `id` and `status` (TENANT_REGISTRY_MISSING), the role has
 * USAGE on its schema and SELECT on those columns (TENANT_REGISTRY_NOT_READABLE), and, when
 * row-level security applies to the role, a permissive SELECT policy applies to it
 * (TENANT_REGISTRY_NO_POLICY). Each finding names its fix. Works from any connection; an
 * application role that does not exist yields nothing here (the catalog check reports it).
 */
export async function checkTenantRegistry(
  db: SqlExecutor,
  options: TenantRegistryCheckOptions = {},
): Promise<CatalogFinding[]> {
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const t = qualifiedTable(options.table ?? DEFAULT_TENANT_REGISTRY);
  const [row] = rowsOf<RegistryRow>(
    await db.query(
      `SELECT r.oid IS NOT NULL AS role_exists, c.oid IS NOT NULL AS table_exists,
              coalesce((SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attname IN ('id', 'status') AND NOT a.attisdropped),
                       '{}') AS columns,
              coalesce(has_schema_privilege(r.oid, n.oid, 'USAGE'), false) AS schema_usage,
              coalesce((SELECT bool_and(has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT'))
                          FROM pg_attribute a
                         WHERE a.attrelid = c.oid AND a.attname IN ('id', 'status') AND NOT a.attisdropped),
                       false) AS readable,
              coalesce(c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
                       AND (c.relforcerowsecurity OR NOT pg_has_role(r.oid, c.relowner, 'USAGE')),
                       false) AS rls_applies,
              EXISTS (SELECT 1 FROM pg_policy p
                       WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*')
                         AND (0 = ANY (p.polroles)
                              OR EXISTS (SELECT 1 FROM unnest(p.polroles) AS pr(oid)
                                          WHERE pr.oid <> 0 AND pg_has_role(r.oid, pr.oid, 'USAGE'))))
                AS policy
         FROM (SELECT $1::text AS schema, $2::text AS name, $3::text AS role) w
         LEFT JOIN pg_roles r ON r.rolname = w.role
         LEFT JOIN pg_namespace n ON n.nspname = w.schema
         LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.name AND c.relkind IN ('r', 'p')`,
      [t.schema, t.table, appRole],
    ),
  );
  if (!row.role_exists) return [];
  const relation = t.name;
  if (!row.table_exists || row.columns.length < 2) {
    return [
      {
        code: 'TENANT_REGISTRY_MISSING',
        relation,
        message: `${row.table_exists ? `${relation} has no id or status column` : `the tenant registry ${relation} does not exist`}, and the tenant status lookup reads every token's tenant from it (each request would fail); create it in a migration with createTenantRegistry(), or set tenantStatus.lookup to read tenants elsewhere`,
      },
    ];
  }
  const findings: CatalogFinding[] = [];
  if (!row.schema_usage || !row.readable) {
    const grants = [
      ...(row.schema_usage ? [] : [`GRANT USAGE ON SCHEMA ${t.schema} TO ${appRole}`]),
      ...(row.readable ? [] : [`GRANT SELECT ON ${relation} TO ${appRole}`]),
    ];
    findings.push({
      code: 'TENANT_REGISTRY_NOT_READABLE',
      relation,
      message: `the application role "${appRole}" may not read the tenant registry ${relation}, so the status lookup of every request would fail; as the owner, ${grants.join('; ')} (createTenantRegistry() does)`,
    });
  }
  if (row.rls_applies && !row.policy) {
    const expression = currentTenantExpression(
      options.tenantSetting ?? DEFAULT_SETTING_NAMES.tenantId,
    );
    findings.push({
      code: 'TENANT_REGISTRY_NO_POLICY',
      relation,
      message: `row-level security on ${relation} has no policy that lets the application role "${appRole}" read a row, so every tenant would be refused as unknown (401); as the owner, CREATE POLICY tenant_self_read ON ${relation} FOR SELECT TO ${appRole} USING (id = ${expression}) (createTenantRegistry() does)`,
    });
  }
  return findings;
}
