import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dropDatabase, PreparedDatabase, prepareDatabase, withClient } from '@app/dev-postgres';
import { createAuditLog } from '@app/tenancy';
import { MIGRATIONS } from '../../migrations';
import { AuditTrail1764000003000 } from '../../migrations/1764000003000-AuditTrail';
import { OpaqueAuditEntryIds1764000012000 } from '../../migrations/1764000012000-OpaqueAuditEntryIds';
import { ownerDataSourceOptions } from '../../migrations/data-source.options';
import { migrateDown } from '../../migrations/run-migrations';
import { createTenant, inTenant, suffix } from '../support/db';
import { testUrl } from '../support/test-env';
import { UUID_V4 } from './audit.fixture';

const ADMIN = { role: 'admin' };

/** The shape of tenancy.audit_log and its clock: columns, grants, indexes, the clock's source. */
const LOG_SHAPE = `
  SELECT 'column ' || a.attname AS key,
         concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
                   pg_get_expr(d.adbin, d.adrelid), a.attacl::text) AS value
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attrelid = 'tenancy.audit_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'table acl', relacl::text FROM pg_class WHERE oid = 'tenancy.audit_log'::regclass
  UNION ALL
  SELECT 'index ' || indexrelid::regclass::text, pg_get_indexdef(indexrelid)
    FROM pg_index WHERE indrelid = 'tenancy.audit_log'::regclass
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text, concat_ws(' ', p.proacl::text, pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.oid = 'tenancy.audit_clock()'::regprocedure
  ORDER BY 1`;
/** Entries that share one time (after the tickets'): their order can only come from the ids. */
const TIE = 12;

/**
 * Migration 1764000012000 on a log with entries: up gives every entry a random uuid and keeps each
 * tenant's order (ties included), down numbers them again in that order and the identity goes on.
 * Runs in a database of its own, migrated up to just before it.
 */
describe('migration OpaqueAuditEntryIds on existing entries', () => {
  const database = `audit_ids_${suffix()}`;
  const step = MIGRATIONS.indexOf(OpaqueAuditEntryIds1764000012000);
  let db: PreparedDatabase;
  let owner: Client;
  let tenants: string[];
  let before: string[][];

  /** Runs the first `count` migrations. */
  const migrateFirst = async (count: number) => {
    const options = {
      ...ownerDataSourceOptions(db.ownerUrl),
      migrations: MIGRATIONS.slice(0, count),
    };
    const ds = await new DataSource(options).initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
  };

  /** A tenant's entries (request id, id as text, microseconds) in the given order. */
  const entries = (tenantId: string, order: string) =>
    inTenant(
      owner,
      tenantId,
      async () =>
        (
          await owner.query(
            `SELECT request_id AS rid, id::text AS id FROM tenancy.audit_log e ORDER BY ${order}`,
          )
        ).rows as { rid: string; id: string }[],
      ADMIN,
    );

  /** Opens a ticket in a tenant as the owner, with a request id: the trigger writes its entry. */
  const openTicket = (tenantId: string, rid: string) =>
    inTenant(owner, tenantId, async () => {
      await owner.query(`SELECT set_config('app.request_id', $1, true)`, [rid]);
      await owner.query(
        `INSERT INTO support.tickets (tenant_id, id, subject, requester_id) VALUES ($1, $2, $3, $4)`,
        [tenantId, randomUUID(), rid, randomUUID()],
      );
    });

  beforeAll(async () => {
    expect(step).toBeGreaterThan(0);
    db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    await migrateFirst(step);
    owner = new Client({ connectionString: db.ownerUrl });
    await owner.connect();
    tenants = [await createTenant(owner, 'ids-a'), await createTenant(owner, 'ids-b')];
    for (let i = 0; i < 6; i++) await openTicket(tenants[i % 2], `ticket-${i}`);
    const tieTime = new Date(Date.now() + 60_000).toISOString();
    await inTenant(owner, tenants[0], async () => {
      for (let i = 0; i < TIE; i++) {
        await owner.query(
          `INSERT INTO tenancy.audit_log (tenant_id, occurred_at, request_id, table_name, row_key, action, changes)
           VALUES ($1, $2, $3, 'support.tickets', '{}', 'INSERT', '{}')`,
          [tenants[0], tieTime, `tie-${i}`],
        );
      }
    });
    before = [];
    for (const t of tenants) before.push((await entries(t, 'e.id')).map((e) => e.rid));
  });
  afterAll(async () => {
    await owner?.end();
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it('starts from bigint ids, the tie written in order', () => {
    expect(before[0]).toEqual([
      'ticket-0',
      'ticket-2',
      'ticket-4',
      ...Array.from({ length: TIE }, (_, i) => `tie-${i}`),
    ]);
    expect(before[1]).toEqual(['ticket-1', 'ticket-3', 'ticket-5']);
  });

  it('up: every entry gets a distinct random uuid, and each tenant keeps its order', async () => {
    await migrateFirst(step + 1);
    for (const [i, tenant] of tenants.entries()) {
      const after = await entries(tenant, 'e.occurred_at, e.id');
      expect(after.map((e) => e.rid)).toEqual(before[i]);
      for (const e of after) expect(e.id).toMatch(UUID_V4);
      expect(new Set(after.map((e) => e.id)).size).toBe(after.length);
    }
  });

  it('down: entries are numbered from 1 in that order, and the identity goes on after them', async () => {
    expect(await migrateDown(db.ownerUrl, 1)).toBe(1);
    const numbered = [];
    for (const t of tenants) numbered.push(await entries(t, 'e.id'));
    expect(numbered.map((list) => list.map((e) => e.rid))).toEqual(before);
    const ids = numbered.flat().map((e) => Number(e.id));
    const total = before[0].length + before[1].length;
    expect([...ids].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    await openTicket(tenants[1], 'after-down');
    expect((await entries(tenants[1], 'e.id')).at(-1)).toEqual({
      rid: 'after-down',
      id: String(total + 1),
    });
  });
});

/** A new user's log (opaque ids by default) has the shape the migration gives this repo's. */
describe('createAuditLog() with its default entry ids', () => {
  const database = `audit_new_${suffix()}`;

  afterAll(async () => {
    await dropDatabase(testUrl('serverAdminUrl'), database);
  });

  it('makes the log migration 1764000012000 converts this repository to', async () => {
    const db = await prepareDatabase(testUrl('serverAdminUrl'), database);
    const options = {
      ...ownerDataSourceOptions(db.ownerUrl),
      migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(AuditTrail1764000003000)),
    };
    const ds = await new DataSource(options).initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
      await ds.transaction((manager) => createAuditLog(manager));
    } finally {
      await ds.destroy();
    }
    const shape = (url: string) => withClient(url, async (c) => (await c.query(LOG_SHAPE)).rows);
    const made = await shape(db.adminUrl);
    expect(made).toEqual(await shape(testUrl('adminUrl')));
    expect(made).toEqual(
      expect.arrayContaining([
        { key: 'column id', value: 'uuid t  gen_random_uuid() {app_user=r/tenancy_owner}' },
        { key: 'column transaction_id', value: 'bigint t  txid_current()' },
      ]),
    );
  });
});
