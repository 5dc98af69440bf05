import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { signToken } from '@app/demo-kit';
import type { AuditEntry, TenantContext } from '@app/tenancy';
import { SlaEscalationProcessor } from '../../apps/support-api/src/sla/sla-escalation.processor';
import { SLA_SYSTEM_USER_ID } from '../../apps/support-api/src/sla/sla-system-user';
import { SlaJob } from '../../apps/support-api/src/sla/sla.job';
import { connect, createTenant } from '../support/db';
import {
  adminToken,
  before,
  commentsOf,
  DAY,
  dropSlaQueues,
  insertTicket,
  NOW,
  SLA_SECRET,
  startSlaApp,
  ticketsOf,
} from './sla.fixture';

const COMMENT = 'Priority raised to high by the SLA job: open for more than 24 hours.';
const RUN_ID = `sla-${NOW.toISOString()}`;

/**
 * The SLA job: the platform lists active tenants and enqueues one escalation job per tenant (BullMQ
 * on real Redis); each runs in its own tenant's context and transaction. Driven through runOnce().
 */
describe('support-api SLA job (runOnce)', () => {
  let app: INestApplication;
  let job: SlaJob;
  let worker: SlaEscalationProcessor;
  let owner: Client;
  let admin: Client;

  const auditOf = async (tenantId: string): Promise<AuditEntry[]> => {
    const res = await request(app.getHttpServer())
      .get('/audit?limit=1000')
      .set('Authorization', `Bearer ${adminToken(tenantId)}`);
    expect(res.status).toBe(200);
    return res.body.items as AuditEntry[];
  };

  beforeAll(async () => {
    owner = await connect('owner');
    admin = await connect('admin');
    app = await startSlaApp();
    job = app.get(SlaJob);
    worker = app.get(SlaEscalationProcessor);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await app.close();
    await dropSlaQueues();
    await owner.end();
    await admin.end();
  });

  describe('one run over several tenants', () => {
    let a: string;
    let b: string;
    let suspended: string;
    const t: Record<string, string> = {};
    let first: Awaited<ReturnType<SlaJob['runOnce']>>;
    let beforeRun: { a: Record<string, unknown>; b: Record<string, unknown> };

    beforeAll(async () => {
      a = await createTenant(owner, 'sla-a');
      b = await createTenant(owner, 'sla-b');
      suspended = await createTenant(owner, 'sla-off', 'suspended');
      const old = before(200 * DAY);
      t.oldNormal = await insertTicket(owner, a, { createdAt: old });
      t.oldLow = await insertTicket(owner, a, { priority: 'low', createdAt: before(DAY + 1) });
      t.atThreshold = await insertTicket(owner, a, { createdAt: before(DAY) });
      t.young = await insertTicket(owner, a, { createdAt: before(DAY / 2) });
      t.future = await insertTicket(owner, a, { createdAt: new Date(NOW.getTime() + DAY) });
      t.oldHigh = await insertTicket(owner, a, { priority: 'high', createdAt: old });
      t.oldUrgent = await insertTicket(owner, a, { priority: 'urgent', createdAt: old });
      t.oldPending = await insertTicket(owner, a, { status: 'pending', createdAt: old });
      t.oldSolved = await insertTicket(owner, a, {
        status: 'solved',
        priority: 'low',
        createdAt: old,
      });
      t.oldClosed = await insertTicket(owner, a, { status: 'closed', createdAt: old });
      t.bOld = await insertTicket(owner, b, { createdAt: old });
      t.bYoung = await insertTicket(owner, b, { createdAt: before(60_000) });
      t.suspendedOld = await insertTicket(owner, suspended, { createdAt: old });
      beforeRun = { a: await ticketsOf(admin, a), b: await ticketsOf(admin, b) };
      first = await job.runOnce(NOW);
    });

    it('escalates exactly the open, not yet high, overdue tickets of each active tenant', async () => {
      expect(first.escalated[a]).toBe(2);
      expect(first.escalated[b]).toBe(1);
      expect(first.tenants).toBeGreaterThanOrEqual(2);
      const stored = { ...(await ticketsOf(admin, a)), ...(await ticketsOf(admin, b)) };
      const all = { ...beforeRun.a, ...beforeRun.b } as Record<string, { priority: string }>;
      const raised = [t.oldNormal, t.oldLow, t.bOld];
      for (const [id, row] of Object.entries(stored)) {
        if (raised.includes(id)) {
          expect(row.priority).toBe('high');
          expect(row.updated_at.getTime()).toBeGreaterThan(NOW.getTime());
        } else {
          expect(row).toEqual(all[id]);
        }
      }
      expect(stored[t.oldSolved].priority).toBe('low');
      expect(stored[t.oldPending].status).toBe('pending');
    });

    it('adds one comment per escalated ticket, by the system user', async () => {
      expect(await commentsOf(admin, a)).toEqual(
        [t.oldNormal, t.oldLow]
          .sort()
          .map((id) => ({ ticket_id: id, author_id: SLA_SYSTEM_USER_ID, body: COMMENT })),
      );
      expect(await commentsOf(admin, b)).toEqual([
        { ticket_id: t.bOld, author_id: SLA_SYSTEM_USER_ID, body: COMMENT },
      ]);
    });

    it('shows the comment to the tenant over HTTP', async () => {
      const agent = signToken(SLA_SECRET, { tenantId: a, userId: randomUUID(), role: 'agent' });
      const res = await request(app.getHttpServer())
        .get(`/tickets/${t.oldNormal}/comments`)
        .set('Authorization', `Bearer ${agent}`)
        .expect(200);
      expect(res.body.items).toEqual([
        expect.objectContaining({ authorId: SLA_SYSTEM_USER_ID, body: COMMENT }),
      ]);
    });

    it('skips a suspended tenant entirely', async () => {
      expect(Object.keys(first.escalated)).not.toContain(suspended);
      expect(first.failed).not.toContain(suspended);
      expect((await ticketsOf(admin, suspended))[t.suspendedOld].priority).toBe('normal');
      expect(await commentsOf(admin, suspended)).toEqual([]);
    });

    it('reports no failure for these tenants', () => {
      expect(first.failed.filter((id) => [a, b].includes(id))).toEqual([]);
    });

    it('audits every change as the system user, role system, request id sla-<time>', async () => {
      const entries = (await auditOf(a)).filter((e) => e.requestId === RUN_ID);
      expect(entries).toHaveLength(4);
      for (const e of entries) {
        expect(e.actorId).toBe(SLA_SYSTEM_USER_ID);
        expect(e.actorRole).toBe('system');
      }
      const updates = entries.filter((e) => e.action === 'UPDATE');
      expect(updates.map((e) => e.table)).toEqual(['support.tickets', 'support.tickets']);
      expect(updates.map((e) => e.key.id).sort()).toEqual([t.oldNormal, t.oldLow].sort());
      for (const u of updates) {
        expect(Object.keys(u.changes).sort()).toEqual(['priority', 'updated_at']);
        expect(u.changes.priority.new).toBe('high');
      }
      expect(updates.map((u) => u.changes.priority.old).sort()).toEqual(['low', 'normal']);
      const inserts = entries.filter((e) => e.action === 'INSERT');
      expect(inserts.map((e) => e.table)).toEqual([
        'support.ticket_comments',
        'support.ticket_comments',
      ]);
      expect(inserts.map((e) => e.changes.ticket_id.new).sort()).toEqual(
        [t.oldNormal, t.oldLow].sort(),
      );
      const bEntries = (await auditOf(b)).filter((e) => e.requestId === RUN_ID);
      expect(bEntries.map((e) => [e.table, e.action, e.actorId])).toEqual([
        ['support.tickets', 'UPDATE', SLA_SYSTEM_USER_ID],
        ['support.ticket_comments', 'INSERT', SLA_SYSTEM_USER_ID],
      ]);
    });

    it('running again escalates nothing and adds no second comment', async () => {
      const commentsA = await commentsOf(admin, a);
      const ticketsA = await ticketsOf(admin, a);
      const again = await job.runOnce(NOW);
      expect(again.escalated[a]).toBe(0);
      expect(again.escalated[b]).toBe(0);
      expect(await commentsOf(admin, a)).toEqual(commentsA);
      expect(await ticketsOf(admin, a)).toEqual(ticketsA);
      expect(await commentsOf(admin, b)).toHaveLength(1);
    });

    it('escalates a ticket at most once: lowered again by an agent, it stays lowered', async () => {
      const agent = signToken(SLA_SECRET, { tenantId: a, userId: randomUUID(), role: 'agent' });
      await request(app.getHttpServer())
        .patch(`/tickets/${t.oldNormal}`)
        .set('Authorization', `Bearer ${agent}`)
        .send({ priority: 'normal' })
        .expect(200);
      const result = await job.runOnce(NOW);
      expect(result.escalated[a]).toBe(0);
      expect((await ticketsOf(admin, a))[t.oldNormal].priority).toBe('normal');
      expect((await commentsOf(admin, a)).filter((c) => c.ticket_id === t.oldNormal)).toHaveLength(
        1,
      );
    });

    it('a later run escalates the tickets that have become overdue since', async () => {
      const later = new Date(NOW.getTime() + DAY);
      const result = await job.runOnce(later);
      expect(result.escalated[a]).toBe(2);
      const stored = await ticketsOf(admin, a);
      expect(stored[t.atThreshold].priority).toBe('high');
      expect(stored[t.young].priority).toBe('high');
      expect(stored[t.future].priority).toBe('normal');
    });
  });

  describe('a failing tenant', () => {
    let first: string;
    let second: string;
    let tickets: Record<string, string>;

    beforeEach(async () => {
      const ids = [await createTenant(owner, 'sla-fail'), await createTenant(owner, 'sla-fail')];
      [first, second] = ids.sort();
      tickets = {
        [first]: await insertTicket(owner, first, { createdAt: before(2 * DAY) }),
        [second]: await insertTicket(owner, second, { createdAt: before(2 * DAY) }),
      };
    });

    const expectUntouched = async (tenantId: string) => {
      expect((await ticketsOf(admin, tenantId))[tickets[tenantId]].priority).toBe('normal');
      expect(await commentsOf(admin, tenantId)).toEqual([]);
      const audit = await admin.query(
        `SELECT id FROM tenancy.audit_log WHERE tenant_id = $1 AND request_id = $2`,
        [tenantId, RUN_ID],
      );
      expect(audit.rows).toEqual([]);
    };

    it('is retried, then reported in failed, and does not stop the other tenants', async () => {
      const original = worker.escalate.bind(worker);
      const tries: Record<string, number> = {};
      jest.spyOn(worker, 'escalate').mockImplementation(async (context, now, olderThanMs) => {
        tries[context.tenantId] = (tries[context.tenantId] ?? 0) + 1;
        if (context.tenantId === first) throw new Error('injected failure');
        return original(context, now, olderThanMs);
      });
      const result = await job.runOnce(NOW);
      expect(tries[first]).toBe(3);
      expect(tries[second]).toBe(1);
      expect(result.failed).toContain(first);
      expect(result.failed).not.toContain(second);
      expect(result.escalated[first]).toBeUndefined();
      expect(result.escalated[second]).toBe(1);
      await expectUntouched(first);
      expect((await ticketsOf(admin, second))[tickets[second]].priority).toBe('high');
    });

    it('is rolled back when it fails after writing, inside its own transaction, on every attempt', async () => {
      const original = worker.escalate.bind(worker);
      const writtenBeforeFailure: number[] = [];
      jest
        .spyOn(worker, 'escalate')
        .mockImplementation(async (context: TenantContext, now: Date, olderThanMs: number) => {
          const value = await original(context, now, olderThanMs);
          if (context.tenantId === first) {
            writtenBeforeFailure.push(value);
            throw new Error('failure after the writes');
          }
          return value;
        });
      const result = await job.runOnce(NOW);
      jest.restoreAllMocks();
      expect(writtenBeforeFailure).toEqual([1, 1, 1]);
      expect(result.failed).toContain(first);
      expect(result.escalated[second]).toBe(1);
      await expectUntouched(first);
      expect(await commentsOf(admin, second)).toHaveLength(1);
    });

    it('is refused by the worker, not run, when suspended after the listing: reported in failed, untouched', async () => {
      const enqueue = job.enqueueTenant.bind(job);
      const escalated: string[] = [];
      const original = worker.escalate.bind(worker);
      jest.spyOn(worker, 'escalate').mockImplementation(async (context, now, olderThanMs) => {
        escalated.push(context.tenantId);
        return original(context, now, olderThanMs);
      });
      jest.spyOn(job, 'enqueueTenant').mockImplementation(async (tenantId, now) => {
        if (tenantId === first) {
          await owner.query(`UPDATE tenancy.tenants SET status = 'suspended' WHERE id = $1`, [
            first,
          ]);
        }
        return enqueue(tenantId, now);
      });
      const result = await job.runOnce(NOW);
      expect(result.failed).toContain(first);
      expect(result.escalated[first]).toBeUndefined();
      expect(escalated).not.toContain(first);
      expect(result.escalated[second]).toBe(1);
      await expectUntouched(first);
    });
  });

  it('never overlaps itself: concurrent runs queue, a tick during a run is skipped', async () => {
    const tenant = await createTenant(owner, 'sla-overlap');
    const ticket = await insertTicket(owner, tenant, { createdAt: before(2 * DAY) });
    const original = worker.escalate.bind(worker);
    let active = 0;
    let most = 0;
    let callsForTenant = 0;
    jest.spyOn(worker, 'escalate').mockImplementation(async (context, now, olderThanMs) => {
      if (context.tenantId !== tenant) return original(context, now, olderThanMs);
      active++;
      most = Math.max(most, active);
      callsForTenant++;
      try {
        return await original(context, now, olderThanMs);
      } finally {
        active--;
      }
    });
    const [r1, r2] = await Promise.all([job.runOnce(NOW), job.runOnce(NOW), job.tick()]);
    expect(most).toBe(1);
    expect(callsForTenant).toBe(2);
    expect([r1.escalated[tenant], r2.escalated[tenant]]).toEqual([1, 0]);
    expect(await commentsOf(admin, tenant)).toEqual([
      { ticket_id: ticket, author_id: SLA_SYSTEM_USER_ID, body: COMMENT },
    ]);
  });
});
