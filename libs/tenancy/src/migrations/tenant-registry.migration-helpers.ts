import { DEFAULT_APP_ROLE, DEFAULT_SETTING_NAMES } from '../tenancy.constants';
import { TenancyConfigurationError } from '../errors/tenancy.error';
import { currentTenantExpression, SettingForm } from './setting-expression';
import { qualifiedTable, quoteIdent, rowsOf, SqlExecutor, withAppRole } from './sql';

/** The tenant registry the library reads (status lookup) and writes (TenantLifecycle). */
export const DEFAULT_TENANT_REGISTRY = 'tenancy.tenants';

/** Options of {@link createTenantRegistry}. */
export interface TenantRegistryOptions {
  /**
   * Role the application logs in as: it gets USAGE on the schema, SELECT on the table and the
   * `tenant_self_read` policy, which shows it the row of the tenant in its context and no other.
   * Default: `app_user`.
   */
  appRole?: string;
  /**
   * Role that manages tenants (creates, suspends and deletes them, as `TenantLifecycle` does). The
   * table forces row-level security on its owner too, so this role gets the `tenant_registry_owner`
   * policy, which lets it read and write every row. Default: the role running the migration
   * (`current_user`), i.e. the owner.
   */
  ownerRole?: string;
  /** Setting that holds the current tenant. Default: `app.tenant_id`. */
  tenantSetting?: string;
  /** How `tenant_self_read` reads the setting (`'plain'` for Citus). Default: `'sub-select'`. */
  settingForm?: SettingForm;
  /**
   * The registry, `schema.table`. The status lookup, `TenantLifecycle` and the audit log read
   * `tenancy.tenants`: name another table only with your own `tenantStatus.lookup`, or in tests.
   * Default: `tenancy.tenants`.
   */
  table?: string;
}

/** Options of {@link dropTenantRegistry}. */
export interface DropTenantRegistryOptions {
  /** The registry, `schema.table`. Default: `tenancy.tenants`. */
  table?: string;
}

/**
 * Creates the tenant registry that tenant tables reference (`tenant_id uuid REFERENCES
 * tenancy.tenants (id)`) and the status lookup reads: the schema when missing, the table
 * (`id uuid` primary key, unique `slug`, `name`, `status` 'active' or 'suspended', `created_at`),
 * ENABLE and FORCE ROW LEVEL SECURITY, USAGE on the schema and SELECT on the table for the
 * application role, the `tenant_self_read` policy (the application role reads only the row of the
 * tenant in its context) and the `tenant_registry_owner` policy (the owner role reads and writes
 * every row). Idempotent: it creates what is missing and sets both policies again, so running it
 * twice is harmless. Reverse it with {@link dropTenantRegistry}.
 */
export async function createTenantRegistry(
  db: SqlExecutor,
  options: TenantRegistryOptions = {},
): Promise<void> {
  const t = qualifiedTable(options.table ?? DEFAULT_TENANT_REGISTRY);
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  const app = quoteIdent(appRole);
  const current = currentTenantExpression(
    options.tenantSetting ?? DEFAULT_SETTING_NAMES.tenantId,
    options.settingForm,
  );
  const ownerRole =
    options.ownerRole ??
    rowsOf<{ role: string }>(await db.query('SELECT current_user AS role'))[0].role;
  const owner = quoteIdent(ownerRole);
  if (ownerRole === appRole) {
    throw new TenancyConfigurationError(
      `the owner role and the application role are both "${appRole}": the application must log in as a role that owns nothing, so pass the role it connects as in appRole`,
    );
  }
  await withAppRole(appRole, async () => {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(t.schema)}`);
    await db.query(`GRANT USAGE ON SCHEMA ${quoteIdent(t.schema)} TO ${app}`);
    await db.query(`
      CREATE TABLE IF NOT EXISTS ${t.sql} (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`ALTER TABLE ${t.sql} ENABLE ROW LEVEL SECURITY`);
    await db.query(`ALTER TABLE ${t.sql} FORCE ROW LEVEL SECURITY`);
    await db.query(`DROP POLICY IF EXISTS tenant_self_read ON ${t.sql}`);
    await db.query(
      `CREATE POLICY tenant_self_read ON ${t.sql} FOR SELECT TO ${app} USING (id = ${current})`,
    );
    await db.query(`DROP POLICY IF EXISTS tenant_registry_owner ON ${t.sql}`);
    await db.query(
      `CREATE POLICY tenant_registry_owner ON ${t.sql} FOR ALL TO ${owner} USING (true) WITH CHECK (true)`,
    );
    await db.query(`GRANT SELECT ON ${t.sql} TO ${app}`);
  });
}

/**
 * Reverses {@link createTenantRegistry}: drops the table, and its policies and grants with it
 * (drop the tables that reference it first). The schema and the application role's USAGE on it
 * stay, since other objects (the audit log) may live there: drop them with
 * `revokeSchemaUsage()` and `DROP SCHEMA` when the migration that created the schema is reverted.
 */
export async function dropTenantRegistry(
  db: SqlExecutor,
  options: DropTenantRegistryOptions = {},
): Promise<void> {
  await db.query(
    `DROP TABLE IF EXISTS ${qualifiedTable(options.table ?? DEFAULT_TENANT_REGISTRY).sql}`,
  );
}
