import { Processor } from '@nestjs/bullmq';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job } from 'bullmq';
import { DataSource } from 'typeorm';
import { TenantContext } from '@app/tenancy';
import { TenantJobData, TenantWorkerHost } from '@app/tenancy/jobs';
import { slaCommentBody } from './sla-comment';
import { SLA_CONCURRENCY, SLA_QUEUE, SlaEscalation } from './sla-queue';

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
 * The SLA escalation worker: each job runs as the tenant that enqueued it (verified and checked
 * active by TenantWorkerHost), in that tenant's transaction. It raises the tenant's open tickets
 * older than the threshold to `high` and comments on each, as the job's user (the SLA system user),
 * and returns how many it raised. Row-level security is what keeps it inside the tenant.
 */
@Processor(SLA_QUEUE, { concurrency: SLA_CONCURRENCY })
export class SlaEscalationProcessor extends TenantWorkerHost<SlaEscalation, number> {
  constructor(@InjectDataSource() private readonly db: DataSource) {
    super();
  }

  /** Escalates the job's tenant's overdue tickets as of the run's `now`. */
  processTenantJob(
    job: Job<TenantJobData<SlaEscalation>>,
    context: TenantContext,
  ): Promise<number> {
    return this.escalate(context, new Date(job.data.now), job.data.olderThanMs);
  }

  /** Raises the current tenant's overdue tickets (in the current tenant transaction); returns how many. */
  async escalate(context: TenantContext, now: Date, olderThanMs: number): Promise<number> {
    const threshold = new Date(now.getTime() - olderThanMs);
    const rows: unknown[] = await this.db.query(ESCALATE, [
      threshold,
      context.userId,
      slaCommentBody(olderThanMs),
    ]);
    return rows.length;
  }
}
