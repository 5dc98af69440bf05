import { ConfigurableModuleBuilder } from '@nestjs/common';
import { ClsModule } from 'nestjs-cls';
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
        : [ClsModule.forRoot({ middleware: { mount: true }, ...extras.cls, global: true })]),
    ],
  }))
  .build();
