import { Inject, Injectable } from '@nestjs/common';
import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from 'node:crypto';
import type { Job } from 'bullmq';
import { TenantContext } from '../context/tenant-context.interface';
import { validTenantContext } from '../context/tenant-context.validation';
import { InvalidTenantContextError } from '../errors/tenancy-errors';
import { TenancyConfigurationError, TenancyError } from '../errors/tenancy.error';
import { ResolvedTenancyOptions } from '../tenancy.options';
import { RESOLVED_TENANCY_OPTIONS } from '../tenancy.providers';
import { TenantJobRefusedError } from './tenant-job-refused.error';
import { TENANT_JOB_ENVELOPE_KEY, TenantJobData, TenantJobEnvelope } from './tenant-job.envelope';
import { TENANT_JOBS_MODULE_OPTIONS } from './tenant-jobs.module-definition';
import { TenantJobsModuleOptions } from './tenant-jobs.options';

const DOMAIN = 'nestjs-rls-tenancy/job/1';
const MIN_SECRET_LENGTH = 32;

/** A job's data without its envelope, and the context the envelope carries. */
export interface OpenedTenantJob {
  context: TenantContext;
  payload: Record<string, unknown>;
}

/**
 * Seals job data with the current tenant context (the envelope) and opens it again in the worker,
 * refusing an envelope that is missing, malformed or does not match its queue, name and data.
 * Internal: use TenantJobs.
 */
@Injectable()
export class TenantJobSigner {
  private readonly key: KeyObject;
  /** The roles a job may run as. */
  readonly roles: readonly string[];

  constructor(
    @Inject(TENANT_JOBS_MODULE_OPTIONS) options: TenantJobsModuleOptions,
    @Inject(RESOLVED_TENANCY_OPTIONS) tenancy: ResolvedTenancyOptions,
  ) {
    if (typeof options?.secret !== 'string' || options.secret.length < MIN_SECRET_LENGTH) {
      throw new TenancyConfigurationError(
        `TenantJobsModule needs a secret of at least ${MIN_SECRET_LENGTH} characters to sign job envelopes: set TenantJobsModule.forRoot({ secret })`,
      );
    }
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    this.roles = Object.freeze([...(options.roles ?? tenancy.roles)]);
  }

  /** `data` (a plain object) with the envelope of `context` for `jobName` on `queueName`. */
  seal<T extends object>(
    context: TenantContext,
    queueName: string,
    jobName: string,
    data: T,
  ): TenantJobData<T> {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new TenancyError('tenant job data must be a plain object');
    }
    if (Object.prototype.hasOwnProperty.call(data, TENANT_JOB_ENVELOPE_KEY)) {
      throw new TenancyError(
        `tenant job data must not carry the key ${TENANT_JOB_ENVELOPE_KEY}: the library writes the tenant envelope there`,
      );
    }
    if (!this.roles.includes(context.role)) {
      throw new TenancyError(
        `role ${context.role} may not run jobs: list it in TenantJobsModule.forRoot({ roles })`,
      );
    }
    const payload = JSON.parse(JSON.stringify(data)) as T;
    const unsigned = {
      v: 1 as const,
      tenantId: context.tenantId,
      userId: context.userId,
      role: context.role,
      requestId: context.requestId,
      issuedAt: Date.now(),
    };
    const sig = this.sign(unsigned, queueName, jobName, JSON.stringify(payload));
    return { ...payload, [TENANT_JOB_ENVELOPE_KEY]: { ...unsigned, sig } };
  }

  /** The job's context and data; throws TenantJobRefusedError unless the envelope is genuine. */
  open(job: Pick<Job, 'data' | 'name' | 'queueName'>): OpenedTenantJob {
    const data: unknown = job.data;
    if (
      data === null ||
      typeof data !== 'object' ||
      Array.isArray(data) ||
      !Object.prototype.hasOwnProperty.call(data, TENANT_JOB_ENVELOPE_KEY)
    ) {
      throw new TenantJobRefusedError(
        'no-envelope',
        'the job has no tenant envelope: enqueue it with TenantJobs.add() inside a tenant scope',
      );
    }
    const { [TENANT_JOB_ENVELOPE_KEY]: envelope, ...payload } = data as Record<string, unknown>;
    if (!isEnvelope(envelope)) {
      throw new TenantJobRefusedError('forged', "the job's tenant envelope is malformed");
    }
    const { sig, ...unsigned } = envelope;
    const expected = Buffer.from(
      this.sign(unsigned, job.queueName, job.name, JSON.stringify(payload)),
      'base64url',
    );
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new TenantJobRefusedError(
        'forged',
        'the tenant envelope does not match this job (it was not enqueued by TenantJobs.add() with this secret, or its queue, name or data changed since)',
      );
    }
    let context: TenantContext;
    try {
      context = validTenantContext(envelope);
    } catch (error) {
      if (!(error instanceof InvalidTenantContextError)) throw error;
      throw new TenantJobRefusedError('invalid-context', error.message);
    }
    if (!this.roles.includes(context.role)) {
      throw new TenantJobRefusedError(
        'role',
        `role ${context.role} may not run jobs (TenantJobsModule roles)`,
        context.tenantId,
      );
    }
    return { context, payload };
  }

  private sign(
    envelope: Omit<TenantJobEnvelope, 'sig'>,
    queueName: string,
    jobName: string,
    payload: string,
  ): string {
    const message = JSON.stringify([
      DOMAIN,
      queueName,
      jobName,
      envelope.v,
      envelope.tenantId,
      envelope.userId,
      envelope.role,
      envelope.requestId ?? null,
      envelope.issuedAt,
      payload,
    ]);
    return createHmac('sha256', this.key).update(message, 'utf8').digest('base64url');
  }
}

function isEnvelope(value: unknown): value is TenantJobEnvelope {
  const e = value as Record<string, unknown> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.v === 1 &&
    typeof e.tenantId === 'string' &&
    typeof e.userId === 'string' &&
    typeof e.role === 'string' &&
    (e.requestId === undefined || typeof e.requestId === 'string') &&
    typeof e.issuedAt === 'number' &&
    Number.isFinite(e.issuedAt) &&
    typeof e.sig === 'string'
  );
}
