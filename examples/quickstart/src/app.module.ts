import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createTenancyDataSource, TenancyModule } from 'nestjs-rls-tenancy';
import { Ticket } from './ticket.entity';
import { TicketsController } from './tickets.controller';

/** What the app needs from its environment. */
export interface AppConfig {
  /** The app role's connection (not the owner's). */
  databaseUrl: string;
  /** HS256 secret, at least 32 characters. */
  jwtSecret: string;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            url: config.databaseUrl,
            entities: [Ticket],
            extra: { max: 10, pipeline: true },
          }),
          dataSourceFactory: createTenancyDataSource,
        }),
        TenancyModule.forRoot({ jwt: { secret: config.jwtSecret }, roles: ['agent', 'admin'] }),
        TypeOrmModule.forFeature([Ticket]),
      ],
      controllers: [TicketsController],
    };
  }
}
