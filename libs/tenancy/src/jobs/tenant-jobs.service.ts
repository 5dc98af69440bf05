import { Injectable, Logger } from '@nestjs/common';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { TenantStatusService } from '../auth/tenant-status.service';
import { TenantContext } from '../context/tenant-context.interface';
import { TenantContextService } from '../context/tenant-context.service';
import { TenantRunner } from '../context/tenant-runner.service';
import { TenantSuspendedError, UnknownTenantError } from '../errors/tenancy-errors';
import { TenantJobRefusedError } from './tenant-job-refused.error';
import { TenantJobData } from './tenant-job.envelope';
import { TenantJobSigner } from './tenant-job.signer';

/**
 * Queued jobs that run as the tenant that enqueued them. `add()` captures the current tenant
 * context in a signed envelope; a worker's `run()` (what {@link TenantWorkerHost} calls) verifies
 * it, checks the tenant is still active, and runs the job in that tenant's transaction.
 */
@Injectable()
export class TenantJobs {
  private readonly logger = new Logger('TenantJobs');

  constructor(
    private readonly contexts: TenantContextService,
    private readonly signer: TenantJobSigner,
    private readonly statuses: TenantStatusService,
    private readonly runner: TenantRunner,
  ) {}

  /**
   * Adds a job to `queue` (BullMQ's `queue.add(name, data, opts)`) carrying the current tenant
   * context: the job will run as this tenant, user and role, whatever its data says. `data` must
   * be a plain object (stored as JSON). Throws `TenantContextMissingError` outside a tenant scope
   * (@TenantScoped() or `TenantRunner.run()`), and a TenancyError for a role not allowed to run
   * jobs; nothing is enqueued then.
   */
  async add<T extends object, R = unknown, N extends string = string>(
    queue: Queue,
    name: N,
    data: T,
    opts?: JobsOptions,
  ): Promise<Job<TenantJobData<T>, R, N>> {
    const context = this.contexts.require();
    const sealed = this.signer.seal(context, queue.name, name, data);
    return (await queue.add(name, sealed, opts)) as Job<TenantJobData<T>, R, N>;
  }

  /**
   * The context a job runs as: its envelope verified against its queue, name and data, and its
   * tenant looked up now (not from the status cache). Throws {@link TenantJobRefusedError}
   * (BullMQ fails the job without retrying) for a missing or forged envelope, a role not allowed,
   * or an unknown or suspended tenant; a failed lookup (database down) throws as it is, and BullMQ
   * retries the job as configured.
   */
  async verify(job: Job): Promise<TenantContext> {
    const { context } = this.signer.open(job);
    try {
      await this.statuses.assertActive(context.tenantId, { fresh: true });
    } catch (error) {
      if (error instanceof TenantSuspendedError) {
        throw new TenantJobRefusedError('suspended-tenant', error.message, context.tenantId);
      }
      if (error instanceof UnknownTenantError) {
        throw new TenantJobRefusedError('unknown-tenant', error.message, context.tenantId);
      }
      throw error;
    }
    return context;
  }

  /**
   * Runs `fn` for `job` as the tenant that enqueued it: {@link verify}, then one tenant
   * transaction (`TenantRunner.run`) committed when `fn` resolves and rolled back when it throws
   * (BullMQ then retries the job, as the same tenant, if it has attempts left). A refused job is
   * logged (queue, id, name, reason; never its data) and never reaches `fn`.
   */
  async run<R>(job: Job, fn: (context: TenantContext) => Promise<R> | R): Promise<R> {
    let context: TenantContext;
    try {
      context = await this.verify(job);
    } catch (error) {
      if (error instanceof TenantJobRefusedError) {
        this.logger.warn(`job ${job.queueName}/${job.id} (${job.name}): ${error.message}`);
      }
      throw error;
    }
    return this.runner.run(context, () => fn(context));
  }
}
