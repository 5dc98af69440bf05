import { ConfigurableModuleBuilder } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ClsModule } from 'nestjs-cls';
import { isRequestId } from './context/tenant-context.validation';

/** The request id: a well-formed `x-request-id` header, or a fresh uuid. */
function requestIdOf(req: { headers?: Record<string, unknown> }): string {
  const header = req?.headers?.['x-request-id'];
  return isRequestId(header) ? header : randomUUID();
}
import { TenancyModuleExtras, TenancyModuleOptions } from './tenancy-options.interface';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: TENANCY_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TenancyModuleOptions>({ moduleName: 'Tenancy' })
  .setClassMethodName('forRoot')
  .setExtras<TenancyModuleExtras>({ cls: {} }, (definition, extras) => ({
    ...definition,
    global: true,
    imports: [
      ...(definition.imports ?? []),
      ...(extras.cls === false
        ? []
        : [
            ClsModule.forRoot({
              middleware: { mount: true, generateId: true, idGenerator: requestIdOf },
              ...extras.cls,
              global: true,
            }),
          ]),
    ],
  }))
  .build();
