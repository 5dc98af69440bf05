import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Job, Queue, QueueEvents } from 'bullmq';
import { TenantRunner } from '@app/tenancy';
import { TenantJobs } from '@app/tenancy/jobs';
import { formatDuration } from './format-duration';
import { SLA_INTERVAL_NAME, SLA_OPTIONS, SlaOptions } from './sla-options';
import { SLA_ESCALATE_JOB, SLA_QUEUE, SlaEscalation } from './sla-queue';
import { SlaRunResult } from './sla-run-result';
import { SLA_SYSTEM_ROLE, SLA_SYSTEM_USER_ID } from './sla-system-user';

/**
 * The SLA job's scheduler: on each tick it lists the active tenants on the platform connection
 * (`runAsPlatform()`: the platform role only reads the registry) and enqueues one escalation job
 * per tenant, inside that tenant's context (`TenantJobs.add()` captures it), as
 * {@link SLA_SYSTEM_USER_ID}; {@link SlaEscalationProcessor} runs them. A run waits for its jobs;
 * runs never overlap; a failing tenant is retried, then reported, and never stops the others.
 */
@Injectable()
export class SlaJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SlaJob');
  private running?: Promise<SlaRunResult>;
  private events?: QueueEvents;

  constructor(
    @Inject(SLA_OPTIONS) readonly options: SlaOptions,
    private readonly tenancy: TenantRunner,
    private readonly scheduler: SchedulerRegistry,
    @Optional() @InjectQueue(SLA_QUEUE) private readonly queue?: Queue,
    @Optional() private readonly jobs?: TenantJobs,
  ) {}

  /** Registers the interval when the job is scheduled; logs why when it is not. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.queue) {
      const { connection, prefix } = this.queue.opts;
      this.events = new QueueEvents(SLA_QUEUE, { connection, prefix });
      await this.events.waitUntilReady();
    }
    const { schedule, scheduled, disabledReason } = this.options;
    if (!scheduled) {
      this.logger.log(`SLA job disabled: ${disabledReason}`);
      return;
    }
    this.scheduler.addInterval(
      SLA_INTERVAL_NAME,
      setInterval(() => void this.tick(), schedule.everyMs),
    );
    this.logger.log(
      `SLA job every ${formatDuration(schedule.everyMs)}: open tickets older than ${formatDuration(schedule.olderThanMs)} go to high (one queued job per tenant)`,
    );
  }

  /** Stops the interval and waits for a run in progress, before the connections close. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', SLA_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SLA_INTERVAL_NAME);
    }
    await this.running?.catch(() => undefined);
    await this.events?.close();
  }

  /** One scheduled run; skipped while the previous one is still going. */
  async tick(): Promise<void> {
    if (this.running) {
      this.logger.warn('previous SLA run still in progress: this one is skipped');
      return;
    }
    try {
      await this.runOnce();
    } catch (error) {
      this.logger.error(`SLA run failed: ${String(error)}`);
    }
  }

  /** Runs the job once now (after any run in progress), as of `now`, and waits for its jobs. */
  runOnce(now: Date = new Date()): Promise<SlaRunResult> {
    const previous = this.running;
    const run = (async () => {
      await previous?.catch(() => undefined);
      return this.execute(now);
    })();
    this.running = run;
    const settle = () => {
      if (this.running === run) this.running = undefined;
    };
    run.then(settle, settle);
    return run;
  }

  /** Enqueues one tenant's escalation job, in that tenant's context, as the SLA system user. */
  enqueueTenant(tenantId: string, now: Date): Promise<Job> {
    const { queue, jobs } = this.queueOrThrow();
    const { olderThanMs, attempts, retryDelayMs } = this.options.schedule;
    const context = {
      tenantId,
      userId: SLA_SYSTEM_USER_ID,
      role: SLA_SYSTEM_ROLE,
      requestId: `sla-${now.toISOString()}`,
    };
    const data: SlaEscalation = { now: now.toISOString(), olderThanMs };
    return this.tenancy.run(context, () =>
      jobs.add(queue, SLA_ESCALATE_JOB, data, {
        attempts,
        backoff: { type: 'exponential', delay: retryDelayMs },
        removeOnComplete: { age: 24 * 60 * 60, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 60 * 60 },
      }),
    );
  }

  private queueOrThrow(): { queue: Queue; jobs: TenantJobs; events: QueueEvents } {
    if (!this.queue || !this.jobs || !this.events) {
      throw new Error(
        'the SLA job needs its queue: configure jobs (REDIS_URL and JOB_SECRET) in SupportApiConfig',
      );
    }
    return { queue: this.queue, jobs: this.jobs, events: this.events };
  }

  private async execute(now: Date): Promise<SlaRunResult> {
    const { events } = this.queueOrThrow();
    const tenants: { id: string }[] = await this.tenancy.runAsPlatform(
      'sla: list active tenants',
      (m) => m.query(`SELECT id FROM tenancy.tenants WHERE status = 'active' ORDER BY id`),
    );
    const outcomes = await Promise.allSettled(
      tenants.map(async ({ id }) => {
        const job = await this.enqueueTenant(id, now);
        return (await job.waitUntilFinished(events)) as number;
      }),
    );
    const result: SlaRunResult = { tenants: tenants.length, escalated: {}, failed: [] };
    outcomes.forEach((outcome, i) => {
      const id = tenants[i].id;
      if (outcome.status === 'fulfilled') {
        result.escalated[id] = outcome.value;
      } else {
        result.failed.push(id);
        this.logger.error(`SLA job for tenant ${id} failed: ${String(outcome.reason)}`);
      }
    });
    const total = Object.values(result.escalated).reduce((a, b) => a + b, 0);
    if (total || result.failed.length) {
      this.logger.log(
        `SLA run: ${result.tenants} tenants, ${total} tickets raised to high, ${result.failed.length} tenants failed`,
      );
    }
    return result;
  }
}
