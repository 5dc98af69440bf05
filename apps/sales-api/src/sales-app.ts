import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttpApp } from '@app/demo-kit';
import { SalesAppModule } from './app.module';
import { SalesApiConfig } from './sales-api.config';

/**
 * Builds the sales-api application on Fastify, initialised and ready (its Fastify plugins and
 * routes loaded, so tests can send requests to `getHttpServer()`), not listening: used by main.ts,
 * the demo and tests.
 */
export async function createSalesApp(config: SalesApiConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    SalesAppModule.forRoot(config),
    new FastifyAdapter(),
    { logger: config.logger, abortOnError: false },
  );
  configureHttpApp(app, {
    title: 'sales-api',
    description: 'Multi-tenant sales demo on PostgreSQL RLS',
  });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
