import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { TenantStatusService } from '../auth/tenant-status.service';
import { UnsafeDatabaseError } from '../errors/tenancy-errors';
import { DEFAULT_TENANT_REGISTRY } from '../migrations/tenant-registry.migration-helpers';
import { TenantTransactionFactory } from '../typeorm/tenant-transaction.factory';
import { checkTenancyCatalog, CatalogFinding, formatCatalogFindings } from './catalog-check';
import { checkTenantRegistry } from './tenant-registry.check';

/**
 * At start-up: installs the RLS routing on the data source, then refuses to run (or, with
 * `startupCheck: 'warn'`, warns) when the app's own connection is a superuser, has BYPASSRLS,
 * owns a tenant table, can create temporary tables, can become (SET ROLE) a role that does, the
 * catalog check finds a table that could leak, the configured `requestRoleFunction` is missing
 * or not callable, or (with the default tenant status lookup) the tenant registry is missing or
 * unreadable as the app's role.
 */
@Injectable()
export class TenancyStartupCheck implements OnModuleInit {
  private readonly logger = new Logger('Tenancy');

  constructor(
    private readonly transactions: TenantTransactionFactory,
    private readonly statuses: TenantStatusService,
  ) {}

  async onModuleInit(): Promise<void> {
    const findings = await this.findings();
    if (!findings.length) return;
    const report = formatCatalogFindings(findings);
    if (this.transactions.options.startupCheck === 'warn') {
      this.logger.warn(`DANGEROUS: starting anyway because startupCheck is 'warn'.\n${report}`);
      return;
    }
    throw new UnsafeDatabaseError(
      `refusing to start: ${report}\nFix the findings (each says how; the app must connect as a role that is not superuser, has no BYPASSRLS, owns no tenant table and cannot create temporary tables), or set startupCheck: 'warn' (dangerous).`,
    );
  }

  /** What the start-up check finds for the app's own connection. */
  async findings(): Promise<CatalogFinding[]> {
    const rows: { role: string }[] = await this.transactions.dataSource.query(
      'SELECT current_user AS role',
    );
    const catalog = this.transactions.options.catalogCheck;
    const found = await checkTenancyCatalog(this.transactions.dataSource, {
      ...(catalog || {}),
      appRole: rows[0].role,
    });
    const own = catalog === false ? found.filter((f) => f.code.startsWith('APP_ROLE')) : found;
    const roleFunction = await this.requestRoleFunctionFindings();
    const registry = await this.tenantRegistryFindings(rows[0].role, !roleFunction.length);
    return [...own, ...roleFunction, ...registry];
  }

  /**
   * With the default tenant status lookup, the registry must exist and be readable as the app's
   * role: checked in the catalog, then (`probe`) by one lookup of a tenant that does not exist,
   * through the same path as a request's.
   */
  private async tenantRegistryFindings(appRole: string, probe: boolean): Promise<CatalogFinding[]> {
    const { tenantStatus, settings } = this.transactions.options;
    if (tenantStatus.lookup) return [];
    const found = await checkTenantRegistry(this.transactions.dataSource, {
      appRole,
      tenantSetting: settings.tenantId,
    });
    if (found.length || !probe) return found;
    const tenantId = randomUUID();
    try {
      await this.statuses.status(tenantId);
      return [];
    } catch (error) {
      return [
        {
          code: 'TENANT_REGISTRY_NOT_READABLE',
          relation: DEFAULT_TENANT_REGISTRY,
          message: `looking up a tenant's status as the application role "${appRole}" failed: ${error instanceof Error ? error.message : String(error)}`,
        },
      ];
    } finally {
      this.statuses.invalidate(tenantId);
    }
  }

  /** The configured request-role function must exist without arguments, return text, and be callable. */
  private async requestRoleFunctionFindings(): Promise<CatalogFinding[]> {
    const name = this.transactions.options.requestRoleFunction;
    if (name === undefined) return [];
    const rows: { returns: string; callable: boolean }[] = await this.transactions.dataSource.query(
      `SELECT format_type(p.prorettype, NULL) AS returns,
              has_function_privilege(p.oid, 'EXECUTE') AS callable
         FROM pg_proc p WHERE p.oid = to_regprocedure($1)`,
      [`${name}()`],
    );
    const found = rows[0];
    if (found?.returns === 'text' && found.callable) return this.inheritedPolicyRoles();
    return [
      {
        code: 'REQUEST_ROLE_FUNCTION_UNUSABLE',
        message: !found
          ? `requestRoleFunction ${name}() does not exist (a function without arguments, returning text)`
          : found.returns !== 'text'
            ? `requestRoleFunction ${name}() returns ${found.returns}, not text`
            : `the application role may not EXECUTE requestRoleFunction ${name}(); GRANT EXECUTE ON FUNCTION ${name}() TO it`,
      },
    ];
  }

  /**
   * With request roles, the application role must not inherit a role that policies are written
   * `TO`: those policies would also apply, OR-ed, to its own transactions, and a request role's
   * policy trusts the function that chose the role (sales-api's trust it to be a manager's).
   */
  private async inheritedPolicyRoles(): Promise<CatalogFinding[]> {
    const rows: { role: string }[] = await this.transactions.dataSource.query(
      `SELECT r.rolname AS role FROM pg_roles r
        WHERE r.rolname <> current_user AND pg_has_role(current_user, r.oid, 'USAGE')
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE r.oid = ANY (p.polroles))
        ORDER BY 1`,
    );
    return rows.map(({ role }) => ({
      code: 'REQUEST_ROLE_INHERITED' as const,
      message: `the application role inherits "${role}", so the policies written TO "${role}" also apply to its own transactions; grant it WITH INHERIT FALSE (PostgreSQL 16+) or make the application role NOINHERIT`,
    }));
  }
}
