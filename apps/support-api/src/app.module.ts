import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AuditController,
  contextStatementFromEnv,
  HealthController,
  primaryAndReplicas,
} from '@app/demo-kit';
import { createTenancyDataSource, TenancyModule } from '@app/tenancy';
import { AgentsModule } from './agents/agents.module';
import { CommentsModule } from './comments/comments.module';
import { InboundEmailModule } from './inbound-email/inbound-email.module';
import { KbModule } from './kb/kb.module';
import { PLATFORM_DATA_SOURCE } from './sla/sla-options';
import { SlaModule } from './sla/sla.module';
import { SupportApiConfig, SUPPORT_ROLES } from './support-api.config';
import { TicketsModule } from './tickets/tickets.module';

/** The support-api root module, built from its config. */
@Module({})
export class SupportAppModule {
  static forRoot(config: SupportApiConfig): DynamicModule {
    const contextStatement = config.contextStatement ?? contextStatementFromEnv();
    return {
      module: SupportAppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            ...primaryAndReplicas(config.databaseUrl, config.replicaDatabaseUrls),
            autoLoadEntities: true,
            synchronize: false,
            applicationName: 'support-api',
            extra: { max: config.poolSize ?? 10, pipeline: config.pipeline ?? true },
          }),
          dataSourceFactory: createTenancyDataSource,
        }),
        ...(config.platformDatabaseUrl
          ? [
              TypeOrmModule.forRoot({
                name: PLATFORM_DATA_SOURCE,
                type: 'postgres',
                url: config.platformDatabaseUrl,
                entities: [],
                synchronize: false,
                applicationName: 'support-api-platform',
                extra: { max: 2 },
              }),
            ]
          : []),
        TenancyModule.forRoot({
          jwt: { secret: config.jwtSecret },
          roles: SUPPORT_ROLES,
          contextStatement,
          preparedSettings: contextStatement === 'set-config' && (config.preparedSettings ?? true),
          pgWriteBatching: config.pgWriteBatching ?? true,
          tenantStatus: { cacheTtlMs: config.tenantStatusTtlMs },
          platform: config.platformDatabaseUrl
            ? { dataSourceName: PLATFORM_DATA_SOURCE }
            : undefined,
        }),
        ScheduleModule.forRoot(),
        TicketsModule,
        AgentsModule,
        CommentsModule,
        KbModule,
        SlaModule.forRoot(config),
        ...(config.amqpUrl
          ? [InboundEmailModule.forRoot({ ...config, amqpUrl: config.amqpUrl })]
          : []),
      ],
      controllers: [HealthController, AuditController],
    };
  }
}
