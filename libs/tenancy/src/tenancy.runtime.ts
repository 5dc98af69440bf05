import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { ClsService } from 'nestjs-cls';
import { DataSource, QueryRunner } from 'typeorm';
import { TenantContext } from './context/tenant-context.interface';
import { TenantTransactionMissingError } from './errors/tenancy-errors';
import { TenancyError } from './errors/tenancy.error';
import { RESOLVED_TENANCY_OPTIONS } from './tenancy.providers';
import { CLS_TENANT_CONTEXT, CLS_TENANT_TRANSACTION } from './tenancy.internal-constants';
import { ResolvedTenancyOptions } from './tenancy-options.interface';
import { installRlsDataSource, ScopeLookup } from './typeorm/rls-data-source';
import { TenantTransaction } from './typeorm/tenant-transaction';

/** Internal: owns the installed DataSource and opens tenant transactions. */
@Injectable()
export class TenancyRuntime implements ScopeLookup {
  private readonly logger = new Logger('Tenancy');
  private createRunner?: (mode?: 'master' | 'slave') => QueryRunner;
  private ds?: DataSource;

  constructor(
    private readonly cls: ClsService,
    private readonly moduleRef: ModuleRef,
    @Inject(RESOLVED_TENANCY_OPTIONS) readonly options: ResolvedTenancyOptions,
  ) {}

  /** The application's DataSource (installed). */
  get dataSource(): DataSource {
    if (!this.ds) this.install();
    return this.ds!;
  }

  /** Installs the query-runner routing on the configured DataSource; idempotent. */
  install(): void {
    if (this.ds) return;
    const ds = this.moduleRef.get<DataSource>(getDataSourceToken(this.options.dataSourceName), {
      strict: false,
    });
    if (!ds?.isInitialized) {
      throw new TenancyError(
        `the TypeORM data source "${this.options.dataSourceName ?? 'default'}" is not initialised: import TypeOrmModule.forRoot() before TenancyModule`,
      );
    }
    this.createRunner = installRlsDataSource(
      ds,
      this,
      this.options.settings,
      this.options.requestRoleFunction,
    );
    this.ds = ds;
    this.logger.log(
      `RLS context installed on data source "${this.options.dataSourceName ?? 'default'}"`,
    );
  }

  /** A platform DataSource by name, for runAsPlatform(). */
  platformDataSource(name: string): DataSource {
    return this.moduleRef.get<DataSource>(getDataSourceToken(name), { strict: false });
  }

  /** Opens a (lazy) tenant transaction for `context`. */
  open(context: TenantContext): TenantTransaction {
    if (!this.createRunner) this.install();
    return new TenantTransaction(this.createRunner!, this.options, context);
  }

  transaction(): TenantTransaction | undefined {
    return this.cls.isActive() ? this.cls.get(CLS_TENANT_TRANSACTION) : undefined;
  }

  assertNoOrphanContext(): void {
    if (this.cls.isActive() && this.cls.get(CLS_TENANT_CONTEXT))
      throw new TenantTransactionMissingError();
  }
}
