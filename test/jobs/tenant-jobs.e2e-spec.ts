import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Client } from 'pg';
import request from 'supertest';
import {
  TenancyError,
  TenantContext,
  TenantContextMissingError,
  TenantRunner,
  TenantStatusService,
} from '@app/tenancy';
import { TENANT_JOB_ENVELOPE_KEY, TenantJobs } from '@app/tenancy/jobs';
import { redisConnection, uniqueQueuePrefix } from '../support/redis';
import { testUrl } from '../support/test-env';
import { ensureNotesSchema } from '../tenancy/fixtures/notes.entities';
import { notesTenant, NotesTenant, storedTitles } from '../tenancy/fixtures/notes.harness';
import { connect } from '../support/db';
import {
  attempts,
  createNotesJobsApp,
  NoteAttempt,
  NoteJob,
  NotesProcessor,
  NOTES_QUEUE,
  OTHER_QUEUE,
  tenantsAtOnce,
} from './notes-jobs.app';

/** Queued jobs (BullMQ on real Redis) run as the tenant that enqueued them, or not at all. */
describe('tenant jobs (nestjs-rls-tenancy/jobs)', () => {
  const prefix = uniqueQueuePrefix('jobs');
  let owner: Client;
  let app: INestApplication;
  let queue: Queue;
  let other: Queue;
  let events: QueueEvents;
  let jobs: TenantJobs;
  let runner: TenantRunner;
  let a: NotesTenant;
  let b: NotesTenant;

  const ctx = (t: NotesTenant, requestId = `job-test-${randomUUID()}`): TenantContext => ({
    tenantId: t.id,
    userId: t.userId,
    role: 'member',
    requestId,
  });
  const enqueue = (t: NotesTenant, data: NoteJob, opts = {}, context = ctx(t)) =>
    runner.run(context, () => jobs.add(queue, 'note', data, opts));
  const finished = (job: Job) => job.waitUntilFinished(events, 30_000) as Promise<NoteAttempt>;
  const failedReason = async (job: Job) => {
    await expect(finished(job)).rejects.toThrow();
    const stored = (await queue.getJob(job.id!))!;
    expect(await stored.getState()).toBe('failed');
    return { reason: stored.failedReason, attemptsMade: stored.attemptsMade };
  };
  const attemptsOf = (job: Job) => attempts.filter((x) => x.jobId === job.id);

  beforeAll(async () => {
    owner = await connect('owner');
    await ensureNotesSchema(owner);
    app = await createNotesJobsApp({ databaseUrl: testUrl('appUrl'), prefix });
    queue = app.get(getQueueToken(NOTES_QUEUE));
    other = app.get(getQueueToken(OTHER_QUEUE));
    jobs = app.get(TenantJobs);
    runner = app.get(TenantRunner);
    events = new QueueEvents(NOTES_QUEUE, { connection: redisConnection(), prefix });
    await events.waitUntilReady();
    a = await notesTenant(owner, 'jobs-a', ['a-seed-1', 'a-seed-2']);
    b = await notesTenant(owner, 'jobs-b', ['b-seed-1']);
  });

  afterAll(async () => {
    await events?.close();
    await queue?.obliterate({ force: true });
    await other?.obliterate({ force: true });
    await app?.close();
    await owner?.end();
  });

  it('runs interleaved jobs of two tenants on one worker, each seeing and writing only its own rows', async () => {
    const enqueued: { tenant: NotesTenant; context: TenantContext; job: Job }[] = [];
    for (let i = 1; i <= 3; i++) {
      for (const [tenant, otherTenant] of [
        [a, b],
        [b, a],
      ]) {
        const context = ctx(tenant);
        const data = {
          title: `${tenant === a ? 'a' : 'b'}-job-${i}`,
          waitForOtherTenant: true,
          tenantId: otherTenant.id,
        };
        enqueued.push({ tenant, context, job: await enqueue(tenant, data, {}, context) });
      }
    }
    const results = await Promise.all(enqueued.map(({ job }) => finished(job)));
    expect(tenantsAtOnce()).toBeGreaterThanOrEqual(2);
    const own = {
      [a.id]: ['a-seed-1', 'a-seed-2', 'a-job-1', 'a-job-2', 'a-job-3'],
      [b.id]: ['b-seed-1', 'b-job-1', 'b-job-2', 'b-job-3'],
    };
    for (const [i, { tenant, context, job }] of enqueued.entries()) {
      const result = results[i];
      expect(result.settings).toEqual({
        tenantId: tenant.id,
        userId: tenant.userId,
        role: 'member',
        requestId: context.requestId,
      });
      expect(result.context).toEqual(context);
      for (const title of result.visible) expect(own[tenant.id]).toContain(title);
      expect(result.visible).toEqual(
        expect.arrayContaining(own[tenant.id].filter((t) => t.includes('seed'))),
      );
      expect(result.visible).toContain(job.data.title);
    }
    expect(await storedTitles(owner, a.id)).toEqual([...own[a.id]].sort());
    expect(await storedTitles(owner, b.id)).toEqual([...own[b.id]].sort());
  });

  it('captures the context of a @TenantScoped() request, its request id included', async () => {
    const res = await request(app.getHttpServer())
      .post('/jobs')
      .set('Authorization', `Bearer ${a.token}`)
      .set('x-request-id', 'jobs-http-1')
      .send({ title: 'a-from-http' })
      .expect(201);
    const result = await finished((await queue.getJob(res.body.id))!);
    expect(result.settings).toEqual({
      tenantId: a.id,
      userId: a.userId,
      role: 'member',
      requestId: 'jobs-http-1',
    });
    expect(await storedTitles(owner, a.id)).toContain('a-from-http');
    expect(await storedTitles(owner, b.id)).not.toContain('a-from-http');
  });

  it('refuses to enqueue outside a tenant scope, for a role not allowed, or with the reserved key', async () => {
    const before = await queue.count();
    await expect(jobs.add(queue, 'note', { title: 'no-scope' })).rejects.toBeInstanceOf(
      TenantContextMissingError,
    );
    await expect(
      runner.run({ ...ctx(a), role: 'intruder' }, () => jobs.add(queue, 'note', { title: 'x' })),
    ).rejects.toThrow(
      new TenancyError(
        'role intruder may not run jobs: list it in TenantJobsModule.forRoot({ roles })',
      ),
    );
    await expect(
      runner.run(ctx(a), () =>
        jobs.add(queue, 'note', { title: 'x', [TENANT_JOB_ENVELOPE_KEY]: { tenantId: b.id } }),
      ),
    ).rejects.toThrow(/must not carry the key __tenancy/);
    await expect(
      runner.run(ctx(a), () => jobs.add(queue, 'note', ['not', 'an', 'object'])),
    ).rejects.toThrow('tenant job data must be a plain object');
    expect(await queue.count()).toBe(before);
  });

  it('does not run a job whose tenant was suspended after it was enqueued: failed with the reason, not retried, nothing written', async () => {
    const c = await notesTenant(owner, 'jobs-suspended', ['c-seed']);
    const statuses = app.get(TenantStatusService);
    expect(await statuses.status(c.id)).toBe('active');
    const worker = app.get(NotesProcessor).worker;
    await worker.pause();
    try {
      const job = await enqueue(c, { title: 'c-job' }, { attempts: 3 });
      await owner.query(`UPDATE tenancy.tenants SET status = 'suspended' WHERE id = $1`, [c.id]);
      expect(await statuses.status(c.id)).toBe('active');
      await worker.resume();
      expect(await failedReason(job)).toEqual({
        reason: `tenant job refused: tenant ${c.id} is suspended`,
        attemptsMade: 1,
      });
      expect(attemptsOf(job)).toEqual([]);
    } finally {
      await worker.resume();
    }
    expect(await storedTitles(owner, c.id)).toEqual(['c-seed']);
  });

  it('retries a job that throws within its tenant: every attempt runs as that tenant, only the last one commits', async () => {
    const context = ctx(b);
    const job = await enqueue(
      b,
      { title: 'b-retried', failAttempts: 2 },
      { attempts: 3, backoff: { type: 'fixed', delay: 10 } },
      context,
    );
    const result = await finished(job);
    const tried = attemptsOf(job);
    expect(tried.map((x) => x.attemptsMade)).toEqual([0, 1, 2]);
    for (const attempt of tried) {
      expect(attempt.context).toEqual(context);
      expect(attempt.settings).toEqual({
        tenantId: b.id,
        userId: b.userId,
        role: 'member',
        requestId: context.requestId,
      });
      expect(attempt.visible.filter((t) => t.startsWith('b-retried'))).toEqual([
        `b-retried#${attempt.attemptsMade}`,
      ]);
    }
    expect(result.attemptsMade).toBe(2);
    const stored = await storedTitles(owner, b.id);
    expect(stored.filter((t) => t.startsWith('b-retried'))).toEqual(['b-retried#2']);
    expect((await storedTitles(owner, a.id)).filter((t) => t.startsWith('b-retried'))).toEqual([]);
  });

  describe('a forged job', () => {
    let genuineA: Record<string, unknown>;
    let genuineBElsewhere: Record<string, unknown>;
    let storedBefore: { a: string[]; b: string[] };

    beforeAll(async () => {
      const parked = await enqueue(a, { title: 'a-genuine' }, { delay: 60 * 60_000 });
      genuineA = parked.data as unknown as Record<string, unknown>;
      await parked.remove();
      const elsewhere = await runner.run(ctx(b), () =>
        jobs.add(other, 'note', { title: 'b-elsewhere' }),
      );
      genuineBElsewhere = elsewhere.data;
      storedBefore = { a: await storedTitles(owner, a.id), b: await storedTitles(owner, b.id) };
    });

    const envelopeOf = (data: Record<string, unknown>) =>
      data[TENANT_JOB_ENVELOPE_KEY] as Record<string, unknown>;
    const mismatch =
      'tenant job refused: the tenant envelope does not match this job (it was not enqueued by TenantJobs.add() with this secret, or its queue, name or data changed since)';
    const forgeries: { name: string; jobName?: string; data: () => object; reason: string }[] = [
      {
        name: 'without an envelope, naming a tenant in its data',
        data: () => ({ title: 'forged-plain', tenantId: b.id }),
        reason:
          'tenant job refused: the job has no tenant envelope: enqueue it with TenantJobs.add() inside a tenant scope',
      },
      {
        name: 'with a made-up envelope',
        data: () => ({
          title: 'forged-made-up',
          [TENANT_JOB_ENVELOPE_KEY]: {
            v: 1,
            tenantId: b.id,
            userId: b.userId,
            role: 'admin',
            issuedAt: Date.now(),
            sig: Buffer.alloc(32).toString('base64url'),
          },
        }),
        reason: mismatch,
      },
      {
        name: 'with a genuine envelope whose tenant was changed',
        data: () => ({
          ...genuineA,
          [TENANT_JOB_ENVELOPE_KEY]: { ...envelopeOf(genuineA), tenantId: b.id },
        }),
        reason: mismatch,
      },
      {
        name: 'with a genuine envelope whose role was changed',
        data: () => ({
          ...genuineA,
          [TENANT_JOB_ENVELOPE_KEY]: { ...envelopeOf(genuineA), role: 'admin' },
        }),
        reason: mismatch,
      },
      {
        name: 'with a genuine envelope on other data',
        data: () => ({ ...genuineA, title: 'forged-other-data' }),
        reason: mismatch,
      },
      {
        name: 'with a genuine envelope and data under another job name',
        jobName: 'other-name',
        data: () => genuineA,
        reason: mismatch,
      },
      {
        name: 'copied from another queue',
        data: () => genuineBElsewhere,
        reason: mismatch,
      },
      {
        name: 'with a malformed envelope',
        data: () => ({ title: 'forged-malformed', [TENANT_JOB_ENVELOPE_KEY]: b.id }),
        reason: "tenant job refused: the job's tenant envelope is malformed",
      },
    ];

    for (const forgery of forgeries) {
      it(`is refused ${forgery.name}: failed at once with the reason, nothing run or written`, async () => {
        const job = await queue.add(forgery.jobName ?? 'note', forgery.data(), { attempts: 3 });
        expect(await failedReason(job)).toEqual({ reason: forgery.reason, attemptsMade: 1 });
        expect(attemptsOf(job)).toEqual([]);
        expect(await storedTitles(owner, a.id)).toEqual(storedBefore.a);
        expect(await storedTitles(owner, b.id)).toEqual(storedBefore.b);
      });
    }

    it('is not told apart from its genuine original: an exact copy (a replay) runs as the same tenant; the envelope binds tenant, queue, name and data, not the job id', async () => {
      const job = await queue.add('note', genuineA, { attempts: 3 });
      const result = await finished(job);
      expect(result.context.tenantId).toBe(a.id);
      expect(await storedTitles(owner, a.id)).toEqual([...storedBefore.a, 'a-genuine'].sort());
      expect(await storedTitles(owner, b.id)).toEqual(storedBefore.b);
    });
  });
});
