import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { UnsafeDatabaseError } from '../errors/tenancy-errors';
import { TenancyRuntime } from '../tenancy.runtime';
import { checkTenancyCatalog, CatalogFinding, formatCatalogFindings } from './catalog-check';

/**
 * At start-up: installs the RLS routing on the data source, then refuses to run (or, with
 * `startupCheck: 'warn'`, warns) when the app's own connection is a superuser, has BYPASSRLS,
 * owns a tenant table, or the catalog check finds a table that could leak.
 */
@Injectable()
export class TenancyStartupCheck implements OnModuleInit {
  private readonly logger = new Logger('Tenancy');

  constructor(private readonly runtime: TenancyRuntime) {}

  async onModuleInit(): Promise<void> {
    this.runtime.install();
    const findings = await this.findings();
    if (!findings.length) return;
    const report = formatCatalogFindings(findings);
    if (this.runtime.options.startupCheck === 'warn') {
      this.logger.warn(`DANGEROUS: starting anyway because startupCheck is 'warn'.\n${report}`);
      return;
    }
    throw new UnsafeDatabaseError(
      `refusing to start: ${report}\nFix the findings (connect as a role that is not superuser, has no BYPASSRLS and owns no tenant table), or set startupCheck: 'warn' (dangerous).`,
    );
  }

  /** What the start-up check finds for the app's own connection. */
  async findings(): Promise<CatalogFinding[]> {
    const rows: { role: string }[] = await this.runtime.dataSource.query(
      'SELECT current_user AS role',
    );
    const catalog = this.runtime.options.catalogCheck;
    const found = await checkTenancyCatalog(this.runtime.dataSource, {
      ...(catalog || {}),
      appRole: rows[0].role,
    });
    return catalog === false ? found.filter((f) => f.code.startsWith('APP_ROLE')) : found;
  }
}
