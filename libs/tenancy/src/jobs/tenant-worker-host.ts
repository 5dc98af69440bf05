import { Inject } from '@nestjs/common';
import { WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantJobData } from './tenant-job.envelope';
import { TenantJobs } from './tenant-jobs.service';

/**
 * Base class of a @nestjs/bullmq processor whose jobs run as the tenant that enqueued them
 * (`TenantJobs.add()`): `@Processor('queue') class X extends TenantWorkerHost { processTenantJob(job,
 * context) {...} }`. Each job's envelope is verified and its tenant checked (a refused job fails at
 * once with the reason, without retries), then {@link processTenantJob} runs inside one tenant
 * transaction; a throw rolls it back and BullMQ retries as configured, as the same tenant. Implement
 * `processTenantJob`, not `process`. The dependencies are property-injected: no `super()` arguments.
 */
export abstract class TenantWorkerHost<
  T extends object = Record<string, unknown>,
  R = unknown,
> extends WorkerHost {
  @Inject(TenantJobs) private readonly tenantWorkerHostJobs: TenantJobs;

  /** Called by the BullMQ worker: verifies the job and runs {@link processTenantJob} as its tenant. */
  override async process(job: Job<TenantJobData<T>>, token?: string): Promise<R> {
    return this.tenantWorkerHostJobs.run(job, (context) =>
      this.processTenantJob(job, context, token),
    );
  }

  /**
   * Processes one job inside its tenant's transaction: every query goes through it, with the
   * enqueuer's tenant, user, role and request id (`context`), and `TenantContextService` returns
   * that context (so a job enqueued from here captures the same tenant). Its result is the job's
   * return value. `job.data` still holds the envelope (`TENANT_JOB_ENVELOPE_KEY`): read your own
   * fields, and do not `job.updateData()` (changed data no longer matches its envelope).
   */
  abstract processTenantJob(
    job: Job<TenantJobData<T>>,
    context: TenantContext,
    token?: string,
  ): Promise<R>;
}
