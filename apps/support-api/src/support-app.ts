import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureHttpApp } from '@app/demo-kit';
import { SupportAppModule } from './app.module';
import { connectInboundEmailConsumer } from './inbound-email/inbound-email.transport';
import { SupportApiConfig } from './support-api.config';

/** Builds the support-api application (initialised, not listening): used by main.ts, the demo and tests. */
export async function createSupportApp(config: SupportApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create(SupportAppModule.forRoot(config), {
    logger: config.logger,
    abortOnError: false,
  });
  configureHttpApp(app, {
    title: 'support-api',
    description: 'Multi-tenant support demo on PostgreSQL RLS',
  });
  if (config.amqpUrl) connectInboundEmailConsumer(app, { ...config, amqpUrl: config.amqpUrl });
  await app.init();
  if (config.amqpUrl) await app.startAllMicroservices();
  return app;
}
