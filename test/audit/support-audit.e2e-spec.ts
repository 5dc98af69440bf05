import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { AuditEntry } from '@app/tenancy';
import { TenantRunner } from '@app/tenancy';
import { connect } from '../support/db';
import {
  as,
  expectErrorShape,
  startSupportApi,
  supportTenant,
  SupportTenant,
  UNKNOWN_ID,
} from '../support-api/support-api.fixture';
import {
  AUDIT_ENTRY_FIELDS,
  auditEntries,
  changedColumns,
  getAudit,
  ms,
  requestId,
  UUID_V4,
} from './audit.fixture';

const TICKET_COLUMNS = [
  'assignee_id',
  'created_at',
  'description',
  'id',
  'priority',
  'requester_id',
  'status',
  'subject',
  'updated_at',
];
const COMMENT_COLUMNS = ['author_id', 'body', 'created_at', 'id', 'ticket_id'];

/** GET /audit on support-api: a ticket's whole life, rollbacks, roles, tenants and filters. */
describe('support-api audit trail (GET /audit)', () => {
  let app: INestApplication;
  let owner: Client;
  let a: SupportTenant;
  let b: SupportTenant;
  const ids = {
    create: requestId('create'),
    patchStatus: requestId('patch-status'),
    patchAssignee: requestId('patch-assignee'),
    comment: requestId('comment'),
    remove: requestId('delete'),
  };
  let ticket: Record<string, unknown>;
  let comment: Record<string, unknown>;
  let life: AuditEntry[];

  beforeAll(async () => {
    owner = await connect('owner');
    app = await startSupportApi();
    a = await supportTenant(owner, 'audit-a');
    b = await supportTenant(owner, 'audit-b');

    const created = await as(app, a.agent)
      .post('/tickets', { subject: 'Audit me', description: 'first words', priority: 'low' })
      .set('x-request-id', ids.create);
    expect(created.status).toBe(201);
    ticket = created.body;
    const t = ticket.id as string;
    await as(app, a.agent)
      .patch(`/tickets/${t}`, { status: 'pending', priority: 'high' })
      .set('x-request-id', ids.patchStatus)
      .expect(200);
    await as(app, a.agent)
      .patch(`/tickets/${t}`, { assigneeId: a.adminId })
      .set('x-request-id', ids.patchAssignee)
      .expect(200);
    const commented = await as(app, a.admin)
      .post(`/tickets/${t}/comments`, { body: 'On it' })
      .set('x-request-id', ids.comment);
    expect(commented.status).toBe(201);
    comment = commented.body;
    await as(app, a.admin).delete(`/tickets/${t}`).set('x-request-id', ids.remove).expect(204);
    life = await auditEntries(app, a.admin);
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
  });

  describe("a ticket's life", () => {
    it('is six entries, oldest first, with distinct random uuids and increasing times', () => {
      expect(life.map((e) => [e.requestId, e.table, e.action])).toEqual([
        [ids.create, 'support.tickets', 'INSERT'],
        [ids.patchStatus, 'support.tickets', 'UPDATE'],
        [ids.patchAssignee, 'support.tickets', 'UPDATE'],
        [ids.comment, 'support.ticket_comments', 'INSERT'],
        [ids.remove, 'support.tickets', 'DELETE'],
        [ids.remove, 'support.ticket_comments', 'DELETE'],
      ]);
      for (const e of life) expect(e.id).toMatch(UUID_V4);
      expect(new Set(life.map((e) => e.id)).size).toBe(life.length);
      const times = life.map((e) => ms(e.occurredAt));
      expect([...times].sort((x, y) => x - y)).toEqual(times);
      for (const e of life)
        expect(e.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    it('names the actor (the token sub), the role and the x-request-id of each write', () => {
      expect(life.map((e) => [e.actorId, e.actorRole])).toEqual([
        [a.agentId, 'agent'],
        [a.agentId, 'agent'],
        [a.agentId, 'agent'],
        [a.adminId, 'admin'],
        [a.adminId, 'admin'],
        [a.adminId, 'admin'],
      ]);
    });

    it('keys every entry by the row primary key without the tenant', () => {
      expect(life.map((e) => e.key)).toEqual([
        { id: ticket.id },
        { id: ticket.id },
        { id: ticket.id },
        { id: comment.id },
        { id: ticket.id },
        { id: comment.id },
      ]);
      expect(JSON.stringify(life)).not.toContain(a.id);
    });

    it('records every column of the created ticket, old null and new as stored', () => {
      const [insert] = life;
      expect(changedColumns(insert)).toEqual(TICKET_COLUMNS);
      expect(insert.changes).toMatchObject({
        id: { old: null, new: ticket.id },
        subject: { old: null, new: 'Audit me' },
        description: { old: null, new: 'first words' },
        status: { old: null, new: 'open' },
        priority: { old: null, new: 'low' },
        requester_id: { old: null, new: a.agentId },
        assignee_id: { old: null, new: null },
        created_at: { old: null },
        updated_at: { old: null },
      });
      expect(ms(insert.changes.created_at.new)).toBe(ms(ticket.createdAt));
      expect(ms(insert.changes.updated_at.new)).toBe(ms(ticket.updatedAt));
    });

    it('records only the columns a PATCH changed, with old and new values', () => {
      const [, status, assignee] = life;
      expect(changedColumns(status)).toEqual(['priority', 'status', 'updated_at']);
      expect(status.changes.status).toEqual({ old: 'open', new: 'pending' });
      expect(status.changes.priority).toEqual({ old: 'low', new: 'high' });
      expect(ms(status.changes.updated_at.old)).toBe(ms(ticket.updatedAt));
      expect(ms(status.changes.updated_at.new)).toBeGreaterThanOrEqual(ms(ticket.updatedAt));
      expect(changedColumns(assignee)).toEqual(['assignee_id', 'updated_at']);
      expect(assignee.changes.assignee_id).toEqual({ old: null, new: a.adminId });
      expect(assignee.changes.updated_at.old).toEqual(status.changes.updated_at.new);
    });

    it('records the comment, then the ticket delete and the comment delete it cascaded to', () => {
      const [, , last, insert, ticketDelete, commentDelete] = life;
      expect(changedColumns(insert)).toEqual(COMMENT_COLUMNS);
      expect(insert.changes).toMatchObject({
        id: { old: null, new: comment.id },
        ticket_id: { old: null, new: ticket.id },
        author_id: { old: null, new: a.adminId },
        body: { old: null, new: 'On it' },
      });
      expect(changedColumns(commentDelete)).toEqual(COMMENT_COLUMNS);
      expect(commentDelete.changes.body).toEqual({ old: 'On it', new: null });
      expect(changedColumns(ticketDelete)).toEqual(TICKET_COLUMNS);
      expect(ticketDelete.changes).toMatchObject({
        id: { old: ticket.id, new: null },
        subject: { old: 'Audit me', new: null },
        status: { old: 'pending', new: null },
        priority: { old: 'high', new: null },
        assignee_id: { old: a.adminId, new: null },
        requester_id: { old: a.agentId, new: null },
      });
      expect(ticketDelete.changes.updated_at.old).toEqual(last.changes.updated_at.new);
    });
  });

  describe('writes that do not commit leave no entry', () => {
    it('a 404 PATCH, a 400 PATCH and a 404 comment add nothing', async () => {
      const before = await auditEntries(app, a.admin);
      const r404 = requestId('nf');
      const r400 = requestId('bad');
      const rComment = requestId('nf-comment');
      await as(app, a.agent)
        .patch(`/tickets/${UNKNOWN_ID}`, { status: 'solved' })
        .set('x-request-id', r404)
        .expect(404);
      await as(app, a.agent)
        .patch(`/tickets/${ticket.id as string}`, { status: 'archived' })
        .set('x-request-id', r400)
        .expect(400);
      await as(app, a.agent)
        .post(`/tickets/${UNKNOWN_ID}/comments`, { body: 'hello?' })
        .set('x-request-id', rComment)
        .expect(404);
      expect(await auditEntries(app, a.admin)).toEqual(before);
    });

    it('a write rolled back after it ran (entry visible inside the transaction) leaves none', async () => {
      const context = app.get(TenantRunner);
      const db = app.get(DataSource);
      const rid = requestId('rolled-back');
      const id = randomUUID();
      let inside: unknown[] = [];
      await expect(
        context.run(
          // An admin: only admins read the audit log (policy of migration 1764000008000).
          { tenantId: a.id, userId: a.adminId, role: 'admin', requestId: rid },
          async () => {
            await db.query(
              `INSERT INTO support.tickets (tenant_id, id, subject, requester_id) VALUES ($1, $2, 'doomed', $3)`,
              [a.id, id, a.agentId],
            );
            inside = await db.query(
              `SELECT action, table_name FROM tenancy.audit_log WHERE request_id = $1`,
              [rid],
            );
            await db.query(`UPDATE support.tickets SET priority = 'nope' WHERE id = $1`, [id]);
          },
        ),
      ).rejects.toThrow(/tickets_priority_check|check constraint/);
      expect(inside).toEqual([{ action: 'INSERT', table_name: 'support.tickets' }]);
      const after = await auditEntries(app, a.admin);
      expect(after.filter((e) => e.requestId === rid)).toEqual([]);
      expect(after.filter((e) => (e.key as { id?: string }).id === id)).toEqual([]);
      await as(app, a.admin).get(`/tickets/${id}`).expect(404);
    });
  });

  describe('who may read it', () => {
    it('an agent gets 403 and no entries', async () => {
      const res = await getAudit(app, a.agent);
      expect(res.status).toBe(403);
      expectErrorShape(res.body, 403);
    });

    it('an agent gets 403 even with a malformed query (roles first)', async () => {
      const res = await getAudit(app, a.agent, 'limit=0&bogus=1');
      expect(res.status).toBe(403);
    });

    it('no token is 401', async () => {
      const res = await request(app.getHttpServer()).get('/audit');
      expect(res.status).toBe(401);
    });

    it("another tenant's admin sees only their own tenant's entries", async () => {
      const rid = requestId('b-create');
      const created = await as(app, b.agent)
        .post('/tickets', { subject: 'Tenant B' })
        .set('x-request-id', rid)
        .expect(201);
      const seenByB = await auditEntries(app, b.admin);
      expect(seenByB.map((e) => [e.requestId, e.table, e.action, e.key])).toEqual([
        [rid, 'support.tickets', 'INSERT', { id: created.body.id }],
      ]);
      const text = JSON.stringify(seenByB);
      for (const value of [ticket.id, comment.id, ...Object.values(ids), a.agentId, a.adminId]) {
        expect(text).not.toContain(value as string);
      }
      const seenByA = await auditEntries(app, a.admin);
      expect(JSON.stringify(seenByA)).not.toContain(created.body.id);
      expect(JSON.stringify(seenByA)).not.toContain(rid);
    });
  });

  describe('filters', () => {
    it('table= returns only that table', async () => {
      const items = await auditEntries(app, a.admin, 'table=support.ticket_comments');
      expect(items.map((e) => [e.requestId, e.action])).toEqual([
        [ids.comment, 'INSERT'],
        [ids.remove, 'DELETE'],
      ]);
      expect(await auditEntries(app, a.admin, 'table=sales.deals')).toEqual([]);
    });

    it('since= returns entries at or after the time', async () => {
      const fourth = life[3];
      const items = await auditEntries(
        app,
        a.admin,
        `since=${encodeURIComponent(fourth.occurredAt)}`,
      );
      expect(items.slice(0, 3)).toEqual(life.slice(3));
      expect(await auditEntries(app, a.admin, 'since=2000-01-01')).toEqual(
        await auditEntries(app, a.admin),
      );
      expect(await auditEntries(app, a.admin, 'since=2999-01-01T00:00:00%2B02:00')).toEqual([]);
    });

    it('limit= returns the oldest entries, 100 by default', async () => {
      expect(await auditEntries(app, a.admin, 'limit=2')).toEqual(life.slice(0, 2));
      expect(await auditEntries(app, a.admin, 'limit=1000')).toEqual(
        await auditEntries(app, a.admin, ''),
      );
    });

    it('combines table, since and limit', async () => {
      const items = await auditEntries(
        app,
        a.admin,
        `table=support.tickets&since=${encodeURIComponent(life[1].occurredAt)}&limit=1`,
      );
      expect(items).toEqual([life[1]]);
    });

    it.each([
      ['table=tickets', 'table must be schema.table'],
      ['table=support.tickets;drop', 'table must be schema.table'],
      ['table=support.tickets%20', 'table must be schema.table'],
      [`table=s.${'t'.repeat(127)}`, 'table must be shorter than or equal to 128 characters'],
      ['table=a.b&table=c.d', 'table must be a string'],
      ['since=yesterday', 'since must be an ISO-8601 date or date-time'],
      ['since=2025-02-30', 'since must be an ISO-8601 date or date-time'],
      ['since=2025-01-01T10:00:00', 'since must be an ISO-8601 date or date-time with a zone'],
      ['since=1735725600000', 'since must be an ISO-8601 date or date-time'],
      ['limit=0', 'limit must not be less than 1'],
      ['limit=1001', 'limit must not be greater than 1000'],
      ['limit=1.5', 'limit must be an integer number'],
      ['limit=ten', 'limit must be an integer number'],
      ['tenant=x', 'property tenant should not exist'],
      ['limit=5&tenantId=x', 'property tenantId should not exist'],
      ['after=42', 'after must be the id (a uuid) of an audit entry'],
      ['after=', 'after must be the id (a uuid) of an audit entry'],
    ])('GET /audit?%s is 400 naming the field', async (query, message) => {
      const res = await getAudit(app, a.admin, query);
      expect(res.status).toBe(400);
      expectErrorShape(res.body, 400);
      expect((res.body.message as string[]).join('\n')).toContain(message);
    });
  });

  describe('append-only for the application role', () => {
    it.each([
      ['UPDATE', `UPDATE tenancy.audit_log SET action = 'DELETE'`],
      ['DELETE', `DELETE FROM tenancy.audit_log`],
      [
        'INSERT',
        `INSERT INTO tenancy.audit_log (tenant_id, table_name, row_key, action, changes)
         VALUES (current_setting('app.tenant_id')::uuid, 'support.tickets', '{}', 'INSERT', '{}')`,
      ],
    ])('%s on audit_log through the app connection is refused (42501)', async (_, sql) => {
      const before = await auditEntries(app, a.admin);
      const context = app.get(TenantRunner);
      const db = app.get(DataSource);
      await expect(
        context.run({ tenantId: a.id, userId: a.adminId, role: 'admin' }, () => db.query(sql)),
      ).rejects.toMatchObject({ driverError: { code: '42501' } });
      expect(await auditEntries(app, a.admin)).toEqual(before);
    });
  });

  it('documents GET /audit and its entry shape in the OpenAPI document', async () => {
    const doc = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body;
    const get = doc.paths['/audit'].get;
    expect(get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'after',
      'limit',
      'since',
      'table',
    ]);
    expect(get.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/AuditListResponse',
    });
    expect(Object.keys(doc.components.schemas.AuditEntryResponse.properties).sort()).toEqual(
      AUDIT_ENTRY_FIELDS,
    );
  });
});
