import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureHttpApp } from '@app/demo-kit';
import { SalesAppModule } from './app.module';
import { SalesApiConfig } from './sales-api.config';

/** Builds the sales-api application (initialised, not listening): used by main.ts, the demo and tests. */
export async function createSalesApp(config: SalesApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create(SalesAppModule.forRoot(config), {
    logger: config.logger,
    abortOnError: false,
  });
  configureHttpApp(app, {
    title: 'sales-api',
    description: 'Multi-tenant sales demo on PostgreSQL RLS',
  });
  await app.init();
  return app;
}
