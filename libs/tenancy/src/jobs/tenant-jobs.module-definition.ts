import { ConfigurableModuleBuilder } from '@nestjs/common';
import { TenantJobsModuleOptions } from './tenant-jobs.options';

/**
 * Nest's configurable-module parts of TenantJobsModule; `TENANT_JOBS_MODULE_OPTIONS` is the
 * injection token of the options as passed to `forRoot()` / `forRootAsync()`.
 */
export const {
  ConfigurableModuleClass: TenantJobsConfigurableModule,
  MODULE_OPTIONS_TOKEN: TENANT_JOBS_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<TenantJobsModuleOptions>({ moduleName: 'TenantJobs' })
  .setClassMethodName('forRoot')
  .setExtras({}, (definition) => ({ ...definition, global: true }))
  .build();
