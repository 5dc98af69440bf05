import { randomUUID } from 'node:crypto';
import type { AuditEntry } from '@app/tenancy';
import { connect, createTenant, inTenant } from '../support/db';
import { call, SalesHarness, salesSetup, tokenFor } from '../sales-api/support/sales-harness';
import { auditEntries, changedColumns, getAudit, ms, requestId } from './audit.fixture';

const MEMBER_COLUMNS = ['created_at', 'manager_id', 'name', 'updated_at', 'user_id'];
const ACCOUNT_COLUMNS = ['created_at', 'domain', 'id', 'name'];
const DEAL_COLUMNS = [
  'account_id',
  'amount',
  'created_at',
  'id',
  'owner_id',
  'stage',
  'title',
  'updated_at',
];

/** GET /audit on sales-api: team, account and deal writes; refused writes; roles and tenants. */
describe('sales-api audit trail (GET /audit)', () => {
  let h: SalesHarness;
  let tenantId: string;
  const user = { ada: randomUUID(), max: randomUUID(), rita: randomUUID() };
  const token = { ada: '', max: '', rita: '' };
  const ids = {
    ada: requestId('put-ada'),
    rita: requestId('put-rita'),
    max: requestId('put-max'),
    move: requestId('move-rita'),
    account: requestId('account'),
    deal: requestId('deal'),
    patch: requestId('patch-deal'),
    remove: requestId('delete-deal'),
  };
  let account: Record<string, unknown>;
  let deal: Record<string, unknown>;
  let entries: AuditEntry[];

  beforeAll(async () => {
    h = await salesSetup();
    tenantId = await createTenant(h.owner, 'audit-sales');
    token.ada = tokenFor(tenantId, user.ada, 'admin');
    token.max = tokenFor(tenantId, user.max, 'manager');
    token.rita = tokenFor(tenantId, user.rita, 'rep');
    const put = (who: keyof typeof user, body: object, rid: string) =>
      call(h.app, 'put', `/team/members/${user[who]}`, token.ada, body)
        .set('x-request-id', rid)
        .expect(200);
    await put('ada', { name: 'Ada', managerId: null }, ids.ada);
    await put('rita', { name: 'Rita', managerId: user.ada }, ids.rita);
    await put('max', { name: 'Max', managerId: user.ada }, ids.max);
    await put('rita', { name: 'Rita Rep', managerId: user.max }, ids.move);
    account = (
      await call(h.app, 'post', '/accounts', token.rita, { name: 'Acme', domain: 'acme.test' })
        .set('x-request-id', ids.account)
        .expect(201)
    ).body;
    deal = (
      await call(h.app, 'post', '/deals', token.ada, {
        accountId: account.id,
        title: 'Big one',
        amount: 1200.5,
        stage: 'proposal',
        ownerId: user.rita,
      })
        .set('x-request-id', ids.deal)
        .expect(201)
    ).body;
    await call(h.app, 'patch', `/deals/${deal.id as string}`, token.max, {
      stage: 'won',
      amount: 1500,
    })
      .set('x-request-id', ids.patch)
      .expect(200);
    await call(h.app, 'delete', `/deals/${deal.id as string}`, token.ada)
      .set('x-request-id', ids.remove)
      .expect(204);
    entries = await auditEntries(h.app, token.ada);
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists every write in order with actor, role, request id, table, key and action', () => {
    expect(
      entries.map((e) => [e.requestId, e.actorId, e.actorRole, e.table, e.action, e.key]),
    ).toEqual([
      [ids.ada, user.ada, 'admin', 'sales.team_members', 'INSERT', { user_id: user.ada }],
      [ids.rita, user.ada, 'admin', 'sales.team_members', 'INSERT', { user_id: user.rita }],
      [ids.max, user.ada, 'admin', 'sales.team_members', 'INSERT', { user_id: user.max }],
      [ids.move, user.ada, 'admin', 'sales.team_members', 'UPDATE', { user_id: user.rita }],
      [ids.account, user.rita, 'rep', 'sales.accounts', 'INSERT', { id: account.id }],
      [ids.deal, user.ada, 'admin', 'sales.deals', 'INSERT', { id: deal.id }],
      [ids.patch, user.max, 'manager', 'sales.deals', 'UPDATE', { id: deal.id }],
      [ids.remove, user.ada, 'admin', 'sales.deals', 'DELETE', { id: deal.id }],
    ]);
  });

  it('records created members and the move with exactly the changed columns', () => {
    const [ada, rita, , move] = entries;
    expect(changedColumns(ada)).toEqual(MEMBER_COLUMNS);
    expect(ada.changes).toMatchObject({
      user_id: { old: null, new: user.ada },
      name: { old: null, new: 'Ada' },
      manager_id: { old: null, new: null },
    });
    expect(rita.changes.manager_id).toEqual({ old: null, new: user.ada });
    expect(changedColumns(move)).toEqual(['manager_id', 'name', 'updated_at']);
    expect(move.changes.name).toEqual({ old: 'Rita', new: 'Rita Rep' });
    expect(move.changes.manager_id).toEqual({ old: user.ada, new: user.max });
    expect(move.changes.updated_at.old).toEqual(rita.changes.updated_at.new);
  });

  it('records the account and the deal as created', () => {
    const [, , , , acc, created] = entries;
    expect(changedColumns(acc)).toEqual(ACCOUNT_COLUMNS);
    expect(acc.changes).toMatchObject({
      id: { old: null, new: account.id },
      name: { old: null, new: 'Acme' },
      domain: { old: null, new: 'acme.test' },
    });
    expect(changedColumns(created)).toEqual(DEAL_COLUMNS);
    expect(created.changes).toMatchObject({
      id: { old: null, new: deal.id },
      account_id: { old: null, new: account.id },
      title: { old: null, new: 'Big one' },
      amount: { old: null, new: 1200.5 },
      stage: { old: null, new: 'proposal' },
      owner_id: { old: null, new: user.rita },
    });
    expect(ms(created.changes.created_at.new)).toBe(ms(deal.createdAt));
  });

  it('records the PATCH as amount, stage and updated_at only, and the DELETE with old values', () => {
    const [, , , , , created, patch, removed] = entries;
    expect(changedColumns(patch)).toEqual(['amount', 'stage', 'updated_at']);
    expect(patch.changes.amount).toEqual({ old: 1200.5, new: 1500 });
    expect(patch.changes.stage).toEqual({ old: 'proposal', new: 'won' });
    expect(patch.changes.updated_at.old).toEqual(created.changes.updated_at.new);
    expect(changedColumns(removed)).toEqual(DEAL_COLUMNS);
    expect(removed.changes).toMatchObject({
      id: { old: deal.id, new: null },
      title: { old: 'Big one', new: null },
      amount: { old: 1500, new: null },
      stage: { old: 'won', new: null },
    });
  });

  it('a write refused mid-statement (a reporting cycle, 409) and a 404 leave no entry', async () => {
    const cycle = requestId('cycle');
    const missing = requestId('missing-manager');
    const res = await call(h.app, 'put', `/team/members/${user.ada}`, token.ada, {
      name: 'Ada',
      managerId: user.rita,
    }).set('x-request-id', cycle);
    expect(res.status).toBe(409);
    await call(h.app, 'put', `/team/members/${randomUUID()}`, token.ada, {
      name: 'Nobody',
      managerId: randomUUID(),
    })
      .set('x-request-id', missing)
      .expect(404);
    await call(h.app, 'post', '/deals', token.rita, {
      accountId: account.id,
      title: 'Not mine to give',
      amount: 1,
      ownerId: user.max,
    }).expect(403);
    expect(await auditEntries(h.app, token.ada)).toEqual(entries);
  });

  it.each([
    ['rep', 'rita'],
    ['manager', 'max'],
  ] as const)('a %s gets 403', async (_, who) => {
    const res = await getAudit(h.app, token[who]);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      statusCode: 403,
      message: 'requires role: admin',
      error: 'Forbidden',
    });
  });

  it('by policy, only an admin reads the entries: a rep or manager querying the table directly gets none', async () => {
    const app = await connect('app');
    try {
      const count = (role: string) =>
        inTenant(
          app,
          tenantId,
          async () =>
            (await app.query('SELECT count(*)::int AS n FROM tenancy.audit_log')).rows[0]
              .n as number,
          { userId: user[role === 'admin' ? 'ada' : role === 'manager' ? 'max' : 'rita'], role },
        );
      expect(await count('admin')).toBe(entries.length);
      expect(await count('manager')).toBe(0);
      expect(await count('rep')).toBe(0);
      expect(await count('')).toBe(0);
    } finally {
      await app.end();
    }
  });

  it("another tenant's admin sees none of these entries", async () => {
    const other = await createTenant(h.owner, 'audit-sales-other');
    const otherAdmin = randomUUID();
    const otherToken = tokenFor(other, otherAdmin, 'admin');
    expect(await auditEntries(h.app, otherToken)).toEqual([]);
    const rid = requestId('other-put');
    await call(h.app, 'put', `/team/members/${otherAdmin}`, otherToken, {
      name: 'Olive',
      managerId: null,
    })
      .set('x-request-id', rid)
      .expect(200);
    const seen = await auditEntries(h.app, otherToken);
    expect(seen.map((e) => [e.requestId, e.table, e.action])).toEqual([
      [rid, 'sales.team_members', 'INSERT'],
    ]);
    expect(JSON.stringify(seen)).not.toContain(user.ada);
    expect(await auditEntries(h.app, token.ada)).toEqual(entries);
  });

  it('filters by table, since and limit', async () => {
    expect(
      (await auditEntries(h.app, token.ada, 'table=sales.deals')).map((e) => e.action),
    ).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    expect(await auditEntries(h.app, token.ada, 'table=support.tickets')).toEqual([]);
    expect(await auditEntries(h.app, token.ada, 'limit=3')).toEqual(entries.slice(0, 3));
    const since = encodeURIComponent(entries[5].occurredAt);
    expect(await auditEntries(h.app, token.ada, `since=${since}`)).toEqual(entries.slice(5));
    const bad = await getAudit(h.app, token.ada, 'since=last-week&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining([
        'since must be an ISO-8601 date or date-time',
        'limit must not be less than 1',
      ]),
    );
  });

  it('is listed in the OpenAPI document', async () => {
    const { body } = await call(h.app, 'get', '/docs-json', token.ada).expect(200);
    expect(body.paths['/audit'].get.responses['200']).toBeDefined();
  });
});
