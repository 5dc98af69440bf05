import { UnrecoverableError } from 'bullmq';

/** Why a worker refused a job: see {@link TenantJobRefusedError}. */
export type TenantJobRefusal =
  'no-envelope' | 'forged' | 'invalid-context' | 'role' | 'unknown-tenant' | 'suspended-tenant';

/**
 * A queued job the worker refuses to run: it has no tenant envelope, its envelope does not match
 * its queue, name and data (forged, or written to Redis by something other than `TenantJobs`), its
 * role is not allowed, or its tenant does not exist or is suspended. BullMQ fails it at once with
 * this message as `failedReason`, without retrying. It extends BullMQ's `UnrecoverableError` and
 * keeps that `name`, which is how BullMQ recognises it even across two copies of the package.
 */
export class TenantJobRefusedError extends UnrecoverableError {
  constructor(
    /** Which check refused the job. */
    readonly reason: TenantJobRefusal,
    detail: string,
    /** The tenant the job claimed, when it claimed a well-formed one. */
    readonly tenantId?: string,
  ) {
    super(`tenant job refused: ${detail}`);
    this.name = 'UnrecoverableError';
  }
}
