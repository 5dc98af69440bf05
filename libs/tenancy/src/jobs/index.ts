// `nestjs-rls-tenancy/jobs`: tenant-scoped BullMQ jobs through @nestjs/bullmq. A subpath of its
// own, so that the main entry point neither loads nor types against those optional peers.

export { TenantJobsModule } from './tenant-jobs.module';
export { TENANT_JOBS_MODULE_OPTIONS } from './tenant-jobs.module-definition';
export type { TenantJobsModuleOptions } from './tenant-jobs.options';
export { TenantJobs } from './tenant-jobs.service';
export { TenantWorkerHost } from './tenant-worker-host';
export { TenantJobRefusedError } from './tenant-job-refused.error';
export type { TenantJobRefusal } from './tenant-job-refused.error';
export { TENANT_JOB_ENVELOPE_KEY } from './tenant-job.envelope';
export type { TenantJobData, TenantJobEnvelope } from './tenant-job.envelope';
