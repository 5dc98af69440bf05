import { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { IEntryNestModule, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';

/** The Nest HTTP platforms the library supports. */
export type HttpAdapterName = 'express' | 'fastify';

/** Every HTTP platform: the library's HTTP suites run once per entry. */
export const HTTP_ADAPTERS: readonly HttpAdapterName[] = ['express', 'fastify'];

/** Creates a Nest application of `module` on `adapter` (not initialised). */
export function createHttpApp(
  module: IEntryNestModule,
  adapter: HttpAdapterName,
  options: NestApplicationOptions,
): Promise<INestApplication> {
  return adapter === 'fastify'
    ? NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), options)
    : NestFactory.create(module, options);
}

/**
 * Initialises `app`; on Fastify also loads its plugins and routes (`ready()`), which `listen()`
 * does but a server that supertest starts itself does not.
 */
export async function initHttpApp(app: INestApplication): Promise<void> {
  await app.init();
  if (app.getHttpAdapter().getType() === 'fastify') {
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  }
}
