/** The key of the job data under which `TenantJobs.add()` stores the tenant envelope. */
export const TENANT_JOB_ENVELOPE_KEY = '__tenancy';

/**
 * The tenant context a job was enqueued with, as `TenantJobs.add()` stores it in the job data:
 * the enqueuer's tenant, user, role and request id, when it was enqueued, and an HMAC-SHA256 over
 * these, the queue name, the job name and the rest of the job data.
 */
export interface TenantJobEnvelope {
  /** Envelope format version. */
  readonly v: 1;
  /** The enqueuer's tenant (uuid). */
  readonly tenantId: string;
  /** The enqueuer's user (uuid). */
  readonly userId: string;
  /** The enqueuer's role. */
  readonly role: string;
  /** The enqueuer's request id: the job's queries write it to the request-id setting. */
  readonly requestId?: string;
  /** When the job was enqueued (ms since the epoch). */
  readonly issuedAt: number;
  /** HMAC-SHA256 (base64url) of the envelope, the queue name, the job name and the data. */
  readonly sig: string;
}

/** Job data as `TenantJobs.add()` enqueues it: your data plus the tenant envelope. */
export type TenantJobData<T extends object = Record<string, unknown>> = T & {
  readonly [TENANT_JOB_ENVELOPE_KEY]: TenantJobEnvelope;
};
