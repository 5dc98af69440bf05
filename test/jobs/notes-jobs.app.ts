import { Body, Controller, INestApplication, Module, Post } from '@nestjs/common';
import { contextStatementFromEnv } from '@app/demo-kit';
import { NestFactory } from '@nestjs/core';
import { BullModule, InjectQueue, Processor } from '@nestjs/bullmq';
import { TypeOrmModule, InjectDataSource } from '@nestjs/typeorm';
import type { Job, Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { createTenancyDataSource, TenancyModule, TenantContext, TenantScoped } from '@app/tenancy';
import { TenantJobData, TenantJobs, TenantJobsModule, TenantWorkerHost } from '@app/tenancy/jobs';
import { redisConnection } from '../support/redis';
import { LazyNoteTag, Note, NoteTag } from '../tenancy/fixtures/notes.entities';
import { NOTES_SECRET } from '../tenancy/fixtures/notes.app';

/** The queue the fixture's worker processes. */
export const NOTES_QUEUE = 'notes';
/** A queue nobody processes (a genuine job there must not run on {@link NOTES_QUEUE}). */
export const OTHER_QUEUE = 'notes-elsewhere';
/** The fixture's envelope secret. */
export const JOBS_SECRET = 'jobs-test-secret-0123456789-abcdefghijklmnop';
/** The worker's concurrency. */
export const CONCURRENCY = 4;

/** A note job: write `title`, optionally wait for another tenant's job, fail the first attempts. */
export interface NoteJob {
  title: string;
  /** Hold the transaction open until jobs of two tenants have run at once (or 10 s). */
  waitForOtherTenant?: boolean;
  /** Throw after writing in attempts 0 .. failAttempts - 1. */
  failAttempts?: number;
  /** A tenant id in the data: nothing reads it as the job's tenant. */
  tenantId?: string;
}

/** What one attempt of a note job saw, in its own transaction. */
export interface NoteAttempt {
  jobId: string;
  attemptsMade: number;
  context: TenantContext;
  settings: { tenantId: string; userId: string; role: string; requestId: string };
  visible: string[];
}

/** Every attempt the processor ran, in order. */
export const attempts: NoteAttempt[] = [];

const running = new Map<string, string>();
let mostTenantsAtOnce = 0;

/** The most distinct tenants whose jobs were running at the same time. */
export function tenantsAtOnce(): number {
  return mostTenantsAtOnce;
}

/** Waits until jobs of two tenants have run at the same time (now or before), or 10 s. */
async function untilTwoTenantsOverlap(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && mostTenantsAtOnce < 2) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

@Processor(NOTES_QUEUE, { concurrency: CONCURRENCY })
export class NotesProcessor extends TenantWorkerHost<NoteJob, NoteAttempt> {
  constructor(@InjectDataSource() private readonly ds: DataSource) {
    super();
  }

  async processTenantJob(job: Job<TenantJobData<NoteJob>>, context: TenantContext) {
    running.set(job.id!, context.tenantId);
    mostTenantsAtOnce = Math.max(mostTenantsAtOnce, new Set(running.values()).size);
    try {
      const [settings] = await this.ds.query(
        `SELECT current_setting('app.tenant_id', true) AS "tenantId",
                current_setting('app.user_id', true) AS "userId",
                current_setting('app.role', true) AS "role",
                current_setting('app.request_id', true) AS "requestId"`,
      );
      if (job.data.waitForOtherTenant) await untilTwoTenantsOverlap();
      await this.ds.query('INSERT INTO lib_test.notes (tenant_id, title) VALUES ($1, $2)', [
        context.tenantId,
        job.data.failAttempts ? `${job.data.title}#${job.attemptsMade}` : job.data.title,
      ]);
      const visible = (
        await this.ds.query<{ title: string }[]>('SELECT title FROM lib_test.notes ORDER BY title')
      ).map((r) => r.title);
      const attempt = {
        jobId: job.id!,
        attemptsMade: job.attemptsMade,
        context,
        settings,
        visible,
      };
      attempts.push(attempt);
      if (job.attemptsMade < (job.data.failAttempts ?? 0)) {
        throw new Error(`attempt ${job.attemptsMade} fails after writing`);
      }
      return attempt;
    } finally {
      running.delete(job.id!);
    }
  }
}

/** Enqueues a note job from a @TenantScoped() request. */
@TenantScoped()
@Controller('jobs')
export class NoteJobsController {
  constructor(
    private readonly jobs: TenantJobs,
    @InjectQueue(NOTES_QUEUE) private readonly queue: Queue,
  ) {}

  @Post()
  async add(@Body() body: { title: string }) {
    const job = await this.jobs.add(this.queue, 'note', { title: body.title });
    return { id: job.id };
  }
}

/** Boots the jobs fixture app on its own Redis key prefix (initialised, not listening). */
export async function createNotesJobsApp(o: {
  databaseUrl: string;
  prefix: string;
}): Promise<INestApplication> {
  @Module({
    imports: [
      TypeOrmModule.forRootAsync({
        useFactory: () => ({
          type: 'postgres' as const,
          url: o.databaseUrl,
          entities: [Note, NoteTag, LazyNoteTag],
          extra: { max: CONCURRENCY + 2 },
        }),
        dataSourceFactory: createTenancyDataSource,
      }),
      TenancyModule.forRoot({
        jwt: { secret: NOTES_SECRET },
        roles: ['member', 'admin'],
        contextStatement: contextStatementFromEnv(),
        catalogCheck: { schemas: ['tenancy', 'support', 'sales', 'lib_test'] },
        tenantStatus: { cacheTtlMs: 10 * 60_000 },
      }),
      BullModule.forRoot({ connection: redisConnection(), prefix: o.prefix }),
      BullModule.registerQueue({ name: NOTES_QUEUE }, { name: OTHER_QUEUE }),
      TenantJobsModule.forRoot({ secret: JOBS_SECRET, roles: ['member', 'admin', 'system'] }),
    ],
    controllers: [NoteJobsController],
    providers: [NotesProcessor],
  })
  class NotesJobsAppModule {}

  const app = await NestFactory.create(NotesJobsAppModule, { logger: false, abortOnError: false });
  await app.init();
  return app;
}
