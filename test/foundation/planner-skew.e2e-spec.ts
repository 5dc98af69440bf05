import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { enableTenantRls } from '@app/tenancy';
import { connect, inTenant, suffix } from '../support/db';

const BIG_TENANT_ROWS = 5000;
const SMALL_TENANTS = 1000;
const SMALL_TENANT_ROWS = 24;
const PAGE = 51;

type PlanNode = { 'Node Type': string; 'Index Name'?: string; Plans?: PlanNode[] } & Record<
  string,
  unknown
>;

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * What the planner sees under the library's policies on a skewed table (one large tenant among
 * many small ones): the policy reads the tenant once per statement through a sub-select, so the
 * planner estimates an average tenant and sorts the large tenant's rows for a page; naming the
 * tenant in the query as well gives it the real tenant (an ordered index scan that stops after the
 * page), while the policy stays in force as a one-time filter.
 */
describe('planner on a skewed tenant table', () => {
  const schema = `scratch_${suffix()}`;
  // Fixed ids and timestamps: the same statistics (and so the same plans) on every run.
  const big = '00000000-0000-4000-8000-000000000001';
  const other = randomUUID();
  const page = `SELECT id FROM ${schema}.events`;
  const order = `ORDER BY created_at DESC, id DESC LIMIT ${PAGE}`;
  let owner: Client;
  let app: Client;
  let newest: string[];

  beforeAll(async () => {
    owner = await connect('owner');
    app = await connect('app');
    await owner.query(`CREATE SCHEMA ${schema}`);
    await owner.query(`GRANT USAGE ON SCHEMA ${schema} TO app_user`);
    await owner.query(`
      CREATE TABLE ${schema}.events (
        tenant_id uuid NOT NULL,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, id))`);
    await owner.query(
      `CREATE INDEX events_newest_idx ON ${schema}.events (tenant_id, created_at DESC, id DESC)`,
    );
    await owner.query(
      `INSERT INTO ${schema}.events (tenant_id, id, created_at)
         SELECT $1::uuid, md5('big' || g)::uuid, timestamptz '2026-01-01' + g * interval '1 minute'
           FROM generate_series(1, ${BIG_TENANT_ROWS}) g`,
      [big],
    );
    await owner.query(
      `INSERT INTO ${schema}.events (tenant_id, id, created_at)
         SELECT md5('small' || (g % ${SMALL_TENANTS}))::uuid, md5('small-event' || g)::uuid,
                timestamptz '2026-01-01' + g * interval '1 second'
           FROM generate_series(1, ${SMALL_TENANTS * SMALL_TENANT_ROWS}) g`,
    );
    newest = (
      await owner.query<{ id: string }>(
        `SELECT id FROM ${schema}.events WHERE tenant_id = $1 ${order}`,
        [big],
      )
    ).rows.map((r) => r.id);
    await enableTenantRls(owner, `${schema}.events`);
    await owner.query(`ANALYZE ${schema}.events`);
  });

  afterAll(async () => {
    await owner.query(`DROP SCHEMA ${schema} CASCADE`);
    await owner.end();
    await app.end();
  });

  /** PostgreSQL's default planner costs, whatever the server under test is tuned to. */
  const defaultCosts = async (): Promise<void> => {
    for (const [name, value] of [
      ['seq_page_cost', '1'],
      ['random_page_cost', '4'],
      ['cpu_tuple_cost', '0.01'],
      ['cpu_index_tuple_cost', '0.005'],
      ['cpu_operator_cost', '0.0025'],
      ['effective_cache_size', '4GB'],
      ['enable_sort', 'on'],
      ['enable_indexscan', 'on'],
      ['enable_indexonlyscan', 'on'],
      ['enable_bitmapscan', 'on'],
    ]) {
      await app.query(`SELECT set_config($1, $2, true)`, [name, value]);
    }
  };

  const plan = async (sql: string, params: unknown[] = []): Promise<PlanNode[]> => {
    await defaultCosts();
    const r = await app.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${sql}`,
      params,
    );
    return nodes(r.rows[0]['QUERY PLAN'][0].Plan);
  };

  it('sorts the large tenant for a page when only the policy names the tenant (the limitation)', async () => {
    await inTenant(app, big, async () => {
      const types = (await plan(`${page} ${order}`)).map((n) => n['Node Type']);
      expect(types).toContain('Sort');
      const ids = (await app.query<{ id: string }>(`${page} ${order}`)).rows.map((r) => r.id);
      expect(ids).toEqual(newest);
    });
  });

  it('reads the page in index order when the query names the tenant too, with the same rows', async () => {
    await inTenant(app, big, async () => {
      const sql = `${page} WHERE tenant_id = $1 ${order}`;
      const planned = await plan(sql, [big]);
      expect(planned.map((n) => n['Node Type'])).not.toContain('Sort');
      expect(planned.find((n) => /^Index (Only )?Scan$/.test(n['Node Type']))?.['Index Name']).toBe(
        'events_newest_idx',
      );
      expect(planned.some((n) => typeof n['One-Time Filter'] === 'string')).toBe(true);
      const ids = (await app.query<{ id: string }>(sql, [big])).rows.map((r) => r.id);
      expect(ids).toEqual(newest);
    });
  });

  it("still returns nothing when the query names another tenant than the context's", async () => {
    await inTenant(app, other, async () => {
      const rows = await app.query(`${page} WHERE tenant_id = $1 ${order}`, [big]);
      expect(rows.rowCount).toBe(0);
    });
  });
});
