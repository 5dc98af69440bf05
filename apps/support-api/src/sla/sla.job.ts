import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TenantRunner } from '@app/tenancy';
import { formatDuration } from './format-duration';
import { slaCommentBody } from './sla-comment';
import { SLA_INTERVAL_NAME, SLA_OPTIONS, SlaOptions } from './sla-options';
import { SlaRunResult } from './sla-run-result';
import { SLA_SYSTEM_ROLE, SLA_SYSTEM_USER_ID } from './sla-system-user';

const ESCALATE = `
  WITH raised AS (
    UPDATE support.tickets t SET priority = 'high', updated_at = now()
     WHERE t.status = 'open' AND t.priority IN ('low', 'normal') AND t.created_at < $1
       AND NOT EXISTS (SELECT 1 FROM support.ticket_comments c
                        WHERE c.tenant_id = t.tenant_id AND c.ticket_id = t.id AND c.author_id = $2)
    RETURNING t.tenant_id, t.id)
  INSERT INTO support.ticket_comments (tenant_id, id, ticket_id, author_id, body)
  SELECT raised.tenant_id, gen_random_uuid(), raised.id, $2, $3 FROM raised
  RETURNING ticket_id`;

/**
 * The SLA job: for every active tenant, in that tenant's own context (`run()`), raises open tickets
 * older than the threshold to `high` and comments on each, as {@link SLA_SYSTEM_USER_ID}. Tenants
 * are listed on the platform connection (`runAsPlatform()`); a failing tenant is logged and skipped.
 * Runs never overlap; a ticket is escalated at most once.
 */
@Injectable()
export class SlaJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SlaJob');
  private running?: Promise<SlaRunResult>;

  constructor(
    @Inject(SLA_OPTIONS) readonly options: SlaOptions,
    private readonly tenancy: TenantRunner,
    private readonly scheduler: SchedulerRegistry,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** Registers the interval when the job is scheduled; logs why when it is not. */
  onApplicationBootstrap(): void {
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
      `SLA job every ${formatDuration(schedule.everyMs)}: open tickets older than ${formatDuration(schedule.olderThanMs)} go to high`,
    );
  }

  /** Stops the interval and waits for a run in progress, before the connections close. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', SLA_INTERVAL_NAME)) {
      this.scheduler.deleteInterval(SLA_INTERVAL_NAME);
    }
    await this.running?.catch(() => undefined);
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

  /** Runs the job once now (after any run in progress), as of `now`. */
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

  /** Escalates one tenant's overdue tickets in its own context; returns how many. */
  async escalateTenant(tenantId: string, now: Date): Promise<number> {
    const threshold = new Date(now.getTime() - this.options.schedule.olderThanMs);
    const context = {
      tenantId,
      userId: SLA_SYSTEM_USER_ID,
      role: SLA_SYSTEM_ROLE,
      requestId: `sla-${now.toISOString()}`,
    };
    return this.tenancy.run(context, async () => {
      const rows: unknown[] = await this.db.query(ESCALATE, [
        threshold,
        SLA_SYSTEM_USER_ID,
        slaCommentBody(this.options.schedule.olderThanMs),
      ]);
      return rows.length;
    });
  }

  private async execute(now: Date): Promise<SlaRunResult> {
    const tenants: { id: string }[] = await this.tenancy.runAsPlatform(
      'sla: list active tenants',
      (m) => m.query(`SELECT id FROM tenancy.tenants WHERE status = 'active' ORDER BY id`),
    );
    const result: SlaRunResult = { tenants: tenants.length, escalated: {}, failed: [] };
    for (const { id } of tenants) {
      try {
        result.escalated[id] = await this.escalateTenant(id, now);
      } catch (error) {
        result.failed.push(id);
        this.logger.error(`SLA run for tenant ${id} failed: ${String(error)}`);
      }
    }
    const total = Object.values(result.escalated).reduce((a, b) => a + b, 0);
    if (total || result.failed.length) {
      this.logger.log(
        `SLA run: ${result.tenants} tenants, ${total} tickets raised to high, ${result.failed.length} tenants failed`,
      );
    }
    return result;
  }
}
