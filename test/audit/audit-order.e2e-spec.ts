import { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TenantRunner } from '@app/tenancy';
import { connect, inTenant } from '../support/db';
import { startSupportApi, supportTenant, SupportTenant } from '../support-api/support-api.fixture';
import { auditEntries, getAudit, requestId } from './audit.fixture';

const ADMIN = { role: 'admin' };

/** Entry ids chosen so that id order disagrees with time order. */
const ID = {
  high: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
  low: '00000000-0000-4000-8000-000000000000',
  tieLow: '11111111-1111-4111-8111-111111111111',
  tieHigh: '88888888-8888-4888-8888-888888888888',
};

/** GET /audit orders by (occurredAt, id), pages exactly with `after`, and keeps a transaction's order. */
describe('GET /audit order and paging', () => {
  let owner: Client;
  let app: INestApplication;

  beforeAll(async () => {
    owner = await connect('owner');
    app = await startSupportApi();
  });
  afterAll(async () => {
    await app.close();
    await owner.end();
  });

  /** Writes entries straight into the log as the owner, inside the tenant, with the given ids and times. */
  const writeEntries = (tenant: SupportTenant, entries: [string, string, string][]) =>
    inTenant(owner, tenant.id, async () => {
      for (const [id, at, rid] of entries) {
        await owner.query(
          `INSERT INTO tenancy.audit_log (tenant_id, id, occurred_at, request_id, table_name, row_key, action, changes)
           VALUES ($1, $2, $3, $4, 'support.tickets', '{}', 'INSERT', '{}')`,
          [tenant.id, id, at, rid],
        );
      }
    });

  /** The microseconds since the epoch of a tenant's entries of one request, in list order. */
  const micros = (tenant: SupportTenant, rid: string) =>
    inTenant(
      owner,
      tenant.id,
      async () =>
        (
          await owner.query(
            `SELECT (extract(epoch FROM occurred_at) * 1000000)::bigint::text AS us, row_key ->> 'id' AS key
               FROM tenancy.audit_log WHERE request_id = $1 ORDER BY occurred_at, id`,
            [rid],
          )
        ).rows as { us: string; key: string }[],
      ADMIN,
    );

  /** Runs `sql` as the app role in a tenant transaction of the tenant's admin, with a request id. */
  const asApp = (tenant: SupportTenant, rid: string, sql: string[], params: unknown[][]) =>
    app
      .get(TenantRunner)
      .run(
        { tenantId: tenant.id, userId: tenant.adminId, role: 'admin', requestId: rid },
        async () => {
          for (const [i, statement] of sql.entries())
            await app.get(DataSource).query(statement, params[i]);
        },
      );

  describe('entries whose ids disagree with their times', () => {
    let tenant: SupportTenant;
    const rids = ['high-first', 'low-second', 'tie-high', 'tie-low'].map(requestId);

    beforeAll(async () => {
      tenant = await supportTenant(owner, 'audit-order');
      await writeEntries(tenant, [
        [ID.tieHigh, '2025-11-20T10:00:02.000001Z', rids[2]],
        [ID.high, '2025-11-20T10:00:00.000001Z', rids[0]],
        [ID.tieLow, '2025-11-20T10:00:02.000001Z', rids[3]],
        [ID.low, '2025-11-20T10:00:01.000001Z', rids[1]],
      ]);
    });

    it('lists them by time, then by id within the same microsecond', async () => {
      const items = await auditEntries(app, tenant.admin);
      expect(items.map((e) => [e.id, e.requestId])).toEqual([
        [ID.high, rids[0]],
        [ID.low, rids[1]],
        [ID.tieLow, rids[3]],
        [ID.tieHigh, rids[2]],
      ]);
      expect((await auditEntries(app, tenant.admin, 'limit=1')).map((e) => e.id)).toEqual([
        ID.high,
      ]);
    });

    it.each([1, 2, 3])(
      'pages of %i with after= list every entry once, in order, across the tie',
      async (limit) => {
        const all = await auditEntries(app, tenant.admin);
        const paged = [];
        let after = '';
        for (let page = 0; page <= all.length; page++) {
          const items = await auditEntries(app, tenant.admin, `limit=${limit}${after}`);
          if (!items.length) break;
          expect(items.length).toBeLessThanOrEqual(limit);
          paged.push(...items);
          after = `&after=${items[items.length - 1].id}`;
        }
        expect(paged).toEqual(all);
      },
    );

    it('after= keeps the table and since filters', async () => {
      const items = await auditEntries(
        app,
        tenant.admin,
        `after=${ID.high}&since=2025-11-20T10:00:02Z&table=support.tickets`,
      );
      expect(items.map((e) => e.id)).toEqual([ID.tieLow, ID.tieHigh]);
      expect(await auditEntries(app, tenant.admin, `after=${ID.low}&table=sales.deals`)).toEqual(
        [],
      );
    });

    it('after= the last entry is an empty page', async () => {
      expect(await auditEntries(app, tenant.admin, `after=${ID.tieHigh}`)).toEqual([]);
    });

    it("after= an unknown id or another tenant's entry is a 400, and reads nothing of it", async () => {
      const other = await supportTenant(owner, 'audit-order-other');
      const foreign = randomUUID();
      await writeEntries(other, [[foreign, '2025-11-20T09:00:00Z', requestId('other')]]);
      for (const after of [foreign, randomUUID()]) {
        const res = await getAudit(app, tenant.admin, `after=${after}`);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          statusCode: 400,
          message: 'after must be the id of an entry of this audit log',
          error: 'Bad Request',
        });
      }
      expect((await auditEntries(app, other.admin, `after=${foreign}`)).map((e) => e.id)).toEqual(
        [],
      );
    });
  });

  describe("a transaction's entries", () => {
    let tenant: SupportTenant;
    const insertTickets = `
      INSERT INTO support.tickets (tenant_id, id, subject, requester_id)
      SELECT $1, t.id, 'bulk', $2 FROM unnest($3::uuid[]) WITH ORDINALITY AS t(id, n) ORDER BY t.n`;

    beforeAll(async () => {
      tenant = await supportTenant(owner, 'audit-clock');
    });

    it('keep the order one statement wrote them in, each at a later microsecond', async () => {
      const rid = requestId('bulk');
      const ids = Array.from({ length: 200 }, () => randomUUID());
      await asApp(tenant, rid, [insertTickets], [[tenant.id, tenant.adminId, ids]]);
      const rows = await micros(tenant, rid);
      expect(rows.map((r) => r.key)).toEqual(ids);
      for (let i = 1; i < rows.length; i++)
        expect(BigInt(rows[i].us)).toBeGreaterThan(BigInt(rows[i - 1].us));
      const listed = await auditEntries(app, tenant.admin, 'limit=1000&table=support.tickets');
      expect(listed.filter((e) => e.requestId === rid).map((e) => e.key.id)).toEqual(ids);
    });

    it('follow one microsecond apart when the clock has not moved past the last entry', async () => {
      const rid = requestId('still-clock');
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const [{ last }] = (
        await owner.query(
          `SELECT ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 500000)::text AS last`,
        )
      ).rows;
      await asApp(
        tenant,
        rid,
        [`SELECT set_config('tenancy.audit_clock', $1, true)`, insertTickets],
        [[last], [tenant.id, tenant.adminId, ids]],
      );
      expect(await micros(tenant, rid)).toEqual(
        ids.map((key, i) => ({ key, us: (BigInt(last) + BigInt(i + 1)).toString() })),
      );
    });

    it.each([
      [
        'an hour ahead',
        `((extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 3600000000)::text`,
      ],
      ['not a number', `'soon'`],
      ['negative', `'-5'`],
    ])('ignore a clock setting %s (any role can write it)', async (_, value) => {
      const rid = requestId('forged-clock');
      const before = BigInt(
        (
          await owner.query(
            `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS us`,
          )
        ).rows[0].us,
      );
      await asApp(
        tenant,
        rid,
        [`SELECT set_config('tenancy.audit_clock', ${value}, true)`, insertTickets],
        [[], [tenant.id, tenant.adminId, [randomUUID()]]],
      );
      const [{ us }] = await micros(tenant, rid);
      expect(BigInt(us)).toBeGreaterThanOrEqual(before);
      expect(BigInt(us)).toBeLessThan(before + 60_000_000n);
    });
  });
});
