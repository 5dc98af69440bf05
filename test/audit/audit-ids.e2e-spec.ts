import { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { AuditEntry } from '@app/tenancy';
import { TenantRunner } from '@app/tenancy';
import { connect } from '../support/db';
import {
  as,
  startSupportApi,
  supportTenant,
  SupportTenant,
} from '../support-api/support-api.fixture';
import { AUDIT_ENTRY_FIELDS, auditEntries, requestId, UUID_V4 } from './audit.fixture';

/**
 * One tenant's audit entries say nothing about another's activity: ids are random uuids (not a
 * counter shared by every tenant, whose gaps counted the other tenants' writes), and the app role
 * cannot read the server-wide transaction id.
 */
describe('audit entry ids across tenants', () => {
  let owner: Client;
  let app: INestApplication;
  let a: SupportTenant;
  let b: SupportTenant;
  const aRequests: string[] = [];
  const bRequests: string[] = [];
  let seenByA: AuditEntry[];

  /** Opens a ticket as the tenant's agent and returns its id, noting the request id. */
  const open = async (tenant: SupportTenant, noted: string[], subject: string) => {
    const rid = requestId(subject);
    noted.push(rid);
    const res = await as(app, tenant.agent).post('/tickets', { subject }).set('x-request-id', rid);
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  beforeAll(async () => {
    owner = await connect('owner');
    app = await startSupportApi();
    a = await supportTenant(owner, 'audit-ids-a');
    b = await supportTenant(owner, 'audit-ids-b');
    const first = await open(a, aRequests, 'a-first');
    for (let i = 0; i < 3; i++) await open(b, bRequests, `b-${i}`);
    const patch = requestId('a-patch');
    aRequests.push(patch);
    await as(app, a.agent)
      .patch(`/tickets/${first}`, { priority: 'high' })
      .set('x-request-id', patch)
      .expect(200);
    for (let i = 3; i < 5; i++) await open(b, bRequests, `b-${i}`);
    await open(a, aRequests, 'a-second');
    seenByA = await auditEntries(app, a.admin);
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
  });

  it("lists A's three writes, interleaved with five of B's, as A's alone", () => {
    expect(seenByA.map((e) => [e.requestId, e.action])).toEqual([
      [aRequests[0], 'INSERT'],
      [aRequests[1], 'UPDATE'],
      [aRequests[2], 'INSERT'],
    ]);
    for (const rid of bRequests) expect(JSON.stringify(seenByA)).not.toContain(rid);
  });

  it('exposes exactly the documented fields, with a distinct random uuid as each id', () => {
    for (const e of seenByA) {
      expect(Object.keys(e).sort()).toEqual(AUDIT_ENTRY_FIELDS);
      expect(e.id).toMatch(UUID_V4);
      expect(e.id).not.toMatch(/^\d+$/);
    }
    expect(new Set(seenByA.map((e) => e.id)).size).toBe(3);
  });

  it("gives B's entries ids of the same kind, none of which A's list reveals", async () => {
    const seenByB = await auditEntries(app, b.admin);
    expect(seenByB.map((e) => e.requestId)).toEqual(bRequests);
    for (const e of seenByB) expect(e.id).toMatch(UUID_V4);
    const textOfA = JSON.stringify(seenByA);
    for (const e of seenByB) expect(textOfA).not.toContain(e.id);
  });

  it("pages A's log one entry at a time with after=, exactly", async () => {
    const paged: AuditEntry[] = [];
    let query = 'limit=1';
    for (let i = 0; i < 5; i++) {
      const page = await auditEntries(app, a.admin, query);
      if (!page.length) break;
      paged.push(...page);
      query = `limit=1&after=${page[0].id}`;
    }
    expect(paged).toEqual(seenByA);
  });

  it.each([
    ['transaction_id, a server-wide counter', 'SELECT transaction_id FROM tenancy.audit_log'],
    ['every column (*)', 'SELECT * FROM tenancy.audit_log'],
  ])('refuses the app role %s (42501), even for an admin', async (_, sql) => {
    const context = app.get(TenantRunner);
    const db = app.get(DataSource);
    await expect(
      context.run({ tenantId: a.id, userId: a.adminId, role: 'admin' }, () => db.query(sql)),
    ).rejects.toMatchObject({ driverError: { code: '42501' } });
  });

  it('lets the app role read the exposed columns of its entries', async () => {
    const context = app.get(TenantRunner);
    const db = app.get(DataSource);
    const rows = await context.run({ tenantId: a.id, userId: a.adminId, role: 'admin' }, () =>
      db.query(
        `SELECT id::text AS id, request_id AS rid FROM tenancy.audit_log ORDER BY occurred_at, id`,
      ),
    );
    expect(rows).toEqual(seenByA.map((e) => ({ id: e.id, rid: e.requestId })));
  });
});
