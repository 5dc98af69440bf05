import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createTenancyDataSource, TenancyModule } from 'nestjs-rls-tenancy';
import { Ticket } from './ticket.entity';
import { TicketsController } from './tickets.controller';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      useFactory: () => ({
        type: 'postgres' as const,
        url: process.env.APP_DATABASE_URL, // the app role's connection, never the owner's
        entities: [Ticket],
        extra: { max: 10, pipeline: true },
      }),
      dataSourceFactory: createTenancyDataSource, // routes every query into the request's scope
    }),
    TenancyModule.forRootAsync({
      useFactory: () => ({ jwt: { secret: process.env.JWT_SECRET! }, roles: ['agent', 'admin'] }),
    }),
    TypeOrmModule.forFeature([Ticket]),
  ],
  controllers: [TicketsController],
})
export class AppModule {}
