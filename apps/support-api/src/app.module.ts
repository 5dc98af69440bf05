import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenancyModule } from '@app/tenancy';
import { CommentsModule } from './comments/comments.module';
import { HealthController } from './health/health.controller';
import { KbModule } from './kb/kb.module';
import { SupportApiConfig, SUPPORT_ROLES } from './support-api.config';
import { TicketsModule } from './tickets/tickets.module';

/** The support-api root module, built from its config. */
@Module({})
export class SupportAppModule {
  static forRoot(config: SupportApiConfig): DynamicModule {
    return {
      module: SupportAppModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.databaseUrl,
          autoLoadEntities: true,
          synchronize: false,
          applicationName: 'support-api',
          extra: { max: config.poolSize ?? 10, pipeline: config.pipeline ?? true },
        }),
        TenancyModule.forRoot({
          jwt: { secret: config.jwtSecret },
          roles: SUPPORT_ROLES,
          tenantStatus: { cacheTtlMs: config.tenantStatusTtlMs },
        }),
        TicketsModule,
        CommentsModule,
        KbModule,
      ],
      controllers: [HealthController],
    };
  }
}
