import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AuditController,
  contextStatementFromEnv,
  HealthController,
  primaryAndReplicas,
} from '@app/demo-kit';
import { createTenancyDataSource, TenancyModule } from '@app/tenancy';
import { AccountsModule } from './accounts/accounts.module';
import { DealsModule } from './deals/deals.module';
import { SalesGraphQLModule } from './graphql/sales-graphql.module';
import { ReportsModule } from './reports/reports.module';
import { SalesApiConfig, SALES_ROLES } from './sales-api.config';
import { TeamModule } from './team/team.module';

/** The sales-api root module, built from its config. */
@Module({})
export class SalesAppModule {
  static forRoot(config: SalesApiConfig): DynamicModule {
    const contextStatement = config.contextStatement ?? contextStatementFromEnv();
    return {
      module: SalesAppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            ...primaryAndReplicas(config.databaseUrl, config.replicaDatabaseUrls),
            autoLoadEntities: true,
            synchronize: false,
            applicationName: 'sales-api',
            extra: { max: config.poolSize ?? 10, pipeline: config.pipeline ?? true },
          }),
          dataSourceFactory: createTenancyDataSource,
        }),
        TenancyModule.forRoot({
          jwt: { secret: config.jwtSecret },
          roles: SALES_ROLES,
          contextStatement,
          preparedSettings: contextStatement === 'set-config' && (config.preparedSettings ?? true),
          pgWriteBatching: config.pgWriteBatching ?? true,
          requestRoleFunction: 'sales.request_role',
          tenantStatus: { cacheTtlMs: config.tenantStatusTtlMs },
        }),
        TeamModule,
        AccountsModule,
        DealsModule,
        ReportsModule,
        SalesGraphQLModule,
      ],
      controllers: [HealthController, AuditController],
    };
  }
}
