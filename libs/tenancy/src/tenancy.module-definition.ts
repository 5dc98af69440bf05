import { ConfigurableModuleBuilder } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ClsMiddlewareOptions, ClsModule } from 'nestjs-cls';
import { isRequestId } from './context/tenant-context.validation';
import { TenancyModuleExtras, TenancyModuleOptions } from './tenancy.options';

/** The request id: a well-formed `x-request-id` header, or a fresh uuid. */
function requestIdOf(req: { headers?: Record<string, unknown> }): string {
  const header = req?.headers?.['x-request-id'];
  return isRequestId(header) ? header : randomUUID();
}

/**
 * The CLS middleware the module mounts: a request id per request; the request object is not put in
 * the store (the library never reads it). Your `cls.middleware` options are merged over these.
 * Internal (not in the package's API); the benchmark mounts the same for its CLS-only baseline.
 */
export function clsMiddleware(own?: ClsMiddlewareOptions): ClsMiddlewareOptions {
  return { mount: true, generateId: true, idGenerator: requestIdOf, saveReq: false, ...own };
}

/**
 * Nest's configurable-module parts of TenancyModule; `TENANCY_MODULE_OPTIONS` is the injection
 * token of the options as passed to `forRoot()` / `forRootAsync()` (before defaults are merged).
 */
export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: TENANCY_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TenancyModuleOptions>({ moduleName: 'Tenancy' })
  .setClassMethodName('forRoot')
  .setExtras<TenancyModuleExtras>(new TenancyModuleExtras(), (definition, extras) => ({
    ...definition,
    global: true,
    imports: [
      ...(definition.imports ?? []),
      ...(extras.cls === false
        ? []
        : [
            ClsModule.forRoot({
              ...extras.cls,
              middleware: clsMiddleware(extras.cls?.middleware),
              global: true,
            }),
          ]),
    ],
  }))
  .build();
