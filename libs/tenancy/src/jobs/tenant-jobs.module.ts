import { Module } from '@nestjs/common';
import { TenantJobSigner } from './tenant-job.signer';
import { TenantJobsConfigurableModule } from './tenant-jobs.module-definition';
import { TenantJobs } from './tenant-jobs.service';

/**
 * Tenant-scoped BullMQ jobs: `TenantJobsModule.forRoot({ secret })` (or `forRootAsync`) beside
 * TenancyModule and @nestjs/bullmq's BullModule; then enqueue with {@link TenantJobs} and process
 * with a {@link TenantWorkerHost} subclass. Global: register it once, in the root module.
 */
@Module({
  providers: [TenantJobSigner, TenantJobs],
  exports: [TenantJobs],
})
export class TenantJobsModule extends TenantJobsConfigurableModule {}
