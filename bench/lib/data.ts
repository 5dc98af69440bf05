import { Client } from 'pg';
import { BenchSizes } from './options';
import { BENCH_TENANTS, memberId, supportUserId, tenantId, ticketId } from './ids';

const SKEW = 0.8;
const ROWS_PER_BATCH = 100_000;

/** Tickets of tenant `i`: large tenants first, then a skewed tail (count ~ rank^-0.8), then extras. */
export function ticketCount(sizes: BenchSizes, i: number): number {
  if (i <= sizes.largeTenants) return sizes.largeTickets;
  if (i > sizes.tenants) return sizes.scaleExtraTickets;
  const rest = sizes.totalTickets - sizes.largeTenants * sizes.largeTickets;
  let sum = 0;
  for (let r = 1; r <= sizes.tenants - sizes.largeTenants; r++) sum += r ** -SKEW;
  const k = rest / sum;
  return Math.max(sizes.minTickets, Math.round(k * (i - sizes.largeTenants) ** -SKEW));
}

/** The reporting tree of the big sales tenant, and the two managers the benchmark acts as. */
export interface SalesTree {
  branching: number;
  depth: number;
  members: number;
  manager: TreeNode;
  teamLead: TreeNode;
}

/** A member of the tree: heap index, depth, and how many people are below them. */
export interface TreeNode {
  index: number;
  depth: number;
  below: number;
  userId: string;
}

function treeNode(b: number, depth: number, d: number): TreeNode {
  const index = (b ** d - 1) / (b - 1) + 1;
  const size = (b ** (depth - d + 1) - 1) / (b - 1);
  return { index, depth: d, below: size - 1, userId: memberId(BENCH_TENANTS.sales, index) };
}

/** The complete tree of `sizes`: the manager has ~1,000 people below, the team lead ~40. */
export function salesTree(sizes: BenchSizes): SalesTree {
  const b = sizes.treeBranching;
  const depth = sizes.treeDepth;
  const nodes = Array.from({ length: depth }, (_, i) => treeNode(b, depth, i + 1));
  const closest = (target: number) =>
    nodes.reduce((best, n) =>
      Math.abs(n.below - target) < Math.abs(best.below - target) ? n : best,
    );
  return {
    branching: b,
    depth,
    members: (b ** (depth + 1) - 1) / (b - 1),
    manager: closest(1000),
    teamLead: closest(40),
  };
}

/** Some ticket ids of tenant `i` (for GET /tickets/:id), spread over its range. */
export function sampleTicketIds(sizes: BenchSizes, i: number, n: number): string[] {
  const count = ticketCount(sizes, i);
  return Array.from({ length: n }, (_, k) => ticketId(i, 1 + Math.floor((k * count) / n)));
}

/** A support agent of tenant `i`. */
export const agentOf = (i: number): string => supportUserId(i, 0);

/** The columns `GET /tickets/:id` reads, in the order TypeORM selects them. */
export const TICKET_COLUMNS =
  'tenant_id, id, subject, description, status, priority, requester_id, assignee_id, created_at, updated_at';

/** Opens an admin (superuser) session set up for bulk loading: no triggers, no FK checks. */
export async function bulkSession(adminUrl: string): Promise<Client> {
  const c = new Client({ connectionString: adminUrl, application_name: 'bench-loader' });
  await c.connect();
  const su = await c.query<{ s: boolean }>(
    `SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user`,
  );
  if (!su.rows[0]?.s) {
    await c.end();
    throw new Error('the benchmark loads data as a superuser (session_replication_role = replica)');
  }
  // A replica session fires no ordinary triggers: no audit entries, no closure maintenance, and
  // no foreign-key checks while loading. Every generated row is consistent by construction.
  await c.query(`SET session_replication_role = replica`);
  await c.query(`SET synchronous_commit = off`);
  await c.query(`SET maintenance_work_mem = '256MB'`);
  await c.query(`SET work_mem = '64MB'`);
  return c;
}

type Log = (message: string) => void;

/**
 * SQL for the id of a label: its md5 shaped as a version-4 uuid (class-validator's isUUID checks
 * the version and variant digits), as md5Uuid() in ids.ts computes it.
 */
function uuid(label: string): string {
  return `overlay(overlay(md5(${label}) placing '4' from 13) placing translate(substr(md5(${label}), 17, 1), '0123456789abcdef', '89ab89ab89ab89ab') from 17)::uuid`;
}

/** Inserts tenants `from`..`to` into the registry and their tickets, in batches with progress. */
export async function loadSupportTenants(
  c: Client,
  sizes: BenchSizes,
  from: number,
  to: number,
  log: Log,
): Promise<number> {
  await c.query(
    `INSERT INTO tenancy.tenants (id, slug, name, status, created_at)
     SELECT ${uuid(`'bench-tenant-' || i`)}, 'bench-' || i, 'Bench tenant ' || i, 'active',
            timestamptz '2024-01-01 00:00:00+00'
       FROM generate_series($1::int, $2::int) i`,
    [from, to],
  );
  // The assignees below (users 0..6 of each tenant) are its agents (support.agents foreign key).
  await c.query(
    `INSERT INTO support.agents (tenant_id, user_id, created_at)
     SELECT ${uuid(`'bench-tenant-' || i`)}, ${uuid(`'bench-user-' || i || '-' || u`)},
            timestamptz '2024-01-01 00:00:00+00'
       FROM generate_series($1::int, $2::int) i CROSS JOIN generate_series(0, 6) u`,
    [from, to],
  );
  let batch: { i: number[]; n: number[] } = { i: [], n: [] };
  let rows = 0;
  let done = 0;
  const total = Array.from({ length: to - from + 1 }, (_, k) =>
    ticketCount(sizes, from + k),
  ).reduce((a, b) => a + b, 0);
  const started = Date.now();
  const flush = async () => {
    if (!batch.i.length) return;
    await c.query(
      `INSERT INTO support.tickets (tenant_id, id, subject, description, status, priority,
                                    requester_id, assignee_id, created_at, updated_at)
       SELECT ${uuid(`'bench-tenant-' || t.i`)},
              ${uuid(`'bench-ticket-' || t.i || '-' || g`)},
              'Ticket ' || g || ' of tenant ' || t.i,
              CASE WHEN g % 3 = 0 THEN NULL ELSE 'The customer reports problem number ' || g END,
              (ARRAY['open', 'pending', 'solved', 'closed'])[1 + g % 4],
              (ARRAY['low', 'normal', 'high', 'urgent'])[1 + (g / 4) % 4],
              ${uuid(`'bench-user-' || t.i || '-' || (g % 50)`)},
              CASE WHEN g % 2 = 0 THEN ${uuid(`'bench-user-' || t.i || '-' || (g % 7)`)} END,
              x.ts, x.ts
         FROM unnest($1::int[], $2::int[]) AS t(i, n)
        CROSS JOIN LATERAL generate_series(1, t.n) g
        CROSS JOIN LATERAL (SELECT timestamptz '2025-06-01 00:00:00+00'
                                   - make_interval(secs => g * 60 + t.i % 60) AS ts) x`,
      [batch.i, batch.n],
    );
    done += rows;
    const secs = (Date.now() - started) / 1000;
    log(
      `  tickets: ${done.toLocaleString('en')} / ${total.toLocaleString('en')} (tenants up to ${batch.i[batch.i.length - 1]}, ${secs.toFixed(0)} s)`,
    );
    batch = { i: [], n: [] };
    rows = 0;
  };
  for (let i = from; i <= to; i++) {
    const n = ticketCount(sizes, i);
    batch.i.push(i);
    batch.n.push(n);
    rows += n;
    if (rows >= ROWS_PER_BATCH) await flush();
  }
  await flush();
  return total;
}

/**
 * One sales tenant: a complete reporting tree (heap order) with each member's manager chain
 * computed in SQL (the chain the foreign keys require), accounts and deals spread evenly over the
 * members, each carrying its owner's chain.
 */
export async function loadSalesTenant(
  c: Client,
  i: number,
  tree: { branching: number; members: number },
  accounts: number,
  deals: number,
): Promise<void> {
  const tenant = tenantId(i);
  const b = tree.branching;
  await c.query(
    `WITH RECURSIVE up (a, d, depth) AS (
       SELECT k, k, 0 FROM generate_series(1, $4::int) k
       UNION ALL
       SELECT (a - 2) / $3::int + 1, d, depth + 1 FROM up WHERE a > 1)
     INSERT INTO sales.team_members (tenant_id, user_id, name, manager_id, manager_chain,
                                     created_at, updated_at)
     SELECT $1::uuid, ${uuid(`'bench-member-' || $2::int || '-' || d`)}, 'Member ' || d,
            CASE WHEN d > 1 THEN ${uuid(`'bench-member-' || $2::int || '-' || ((d - 2) / $3::int + 1)`)} END,
            CASE WHEN d > 1 THEN array_agg(${uuid(`'bench-member-' || $2::int || '-' || a`)} ORDER BY depth DESC)
                                 FILTER (WHERE depth > 0) END,
            timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-01 00:00:00+00'
       FROM up GROUP BY d`,
    [tenant, i, b, tree.members],
  );
  await c.query(
    `INSERT INTO sales.accounts (tenant_id, id, name, domain, created_at)
     SELECT $1::uuid, ${uuid(`'bench-account-' || $2::int || '-' || a`)}, 'Account ' || a,
            'account-' || a || '.example', timestamptz '2024-01-01 00:00:00+00'
       FROM generate_series(1, $3::int) a`,
    [tenant, i, accounts],
  );
  await c.query(
    `INSERT INTO sales.deals (tenant_id, id, account_id, title, amount, stage, owner_id,
                              owner_chain, created_at, updated_at)
     SELECT $1::uuid, ${uuid(`'bench-deal-' || $2::int || '-' || j`)},
            ${uuid(`'bench-account-' || $2::int || '-' || (1 + j % $3::int)`)},
            'Deal ' || j, ((j * 7919) % 10000000) / 100.0,
            (ARRAY['prospecting', 'qualification', 'proposal', 'negotiation', 'won', 'lost'])[1 + j % 6],
            m.user_id, m.chain, x.ts, x.ts
       FROM generate_series(1, $5::int) j
       JOIN sales.team_members m
         ON m.tenant_id = $1::uuid
        AND m.user_id = ${uuid(`'bench-member-' || $2::int || '-' || (1 + (j - 1) % $4::int)`)}
      CROSS JOIN LATERAL (SELECT timestamptz '2025-06-01 00:00:00+00'
                                 - make_interval(secs => j * 17) AS ts) x`,
    [tenant, i, accounts, tree.members, deals],
  );
}

/** Checks the reporting chains: one link per (ancestor, descendant) pair, the manager's subtree. */
export async function checkChains(c: Client, i: number, tree: SalesTree): Promise<void> {
  const expected = Array.from(
    { length: tree.depth + 1 },
    (_, d) => tree.branching ** d * (d + 1),
  ).reduce((a, b) => a + b, 0);
  const r = await c.query<{ n: number; below: number }>(
    `SELECT (SELECT sum(cardinality(chain))::int FROM sales.team_members WHERE tenant_id = $1) AS n,
            (SELECT count(*)::int - 1 FROM sales.team_members
              WHERE tenant_id = $1 AND chain @> ARRAY[$2::uuid]) AS below`,
    [tenantId(i), tree.manager.userId],
  );
  if (r.rows[0].n !== expected || r.rows[0].below !== tree.manager.below) {
    throw new Error(
      `reporting chain check failed: ${r.rows[0].n} rows (expected ${expected}), manager has ${r.rows[0].below} below (expected ${tree.manager.below})`,
    );
  }
}

/** VACUUM (so index-only scans work and hint bits are set) and ANALYZE the loaded tables. */
export async function vacuumAnalyze(c: Client): Promise<void> {
  for (const t of [
    'tenancy.tenants',
    'support.tickets',
    'support.agents',
    'sales.team_members',
    'sales.accounts',
    'sales.deals',
  ]) {
    await c.query(`VACUUM (ANALYZE) ${t}`);
  }
}

/** Sanity: the tenant ids TypeScript computes are the ones SQL generated. */
export async function checkIds(c: Client): Promise<void> {
  const r = await c.query<{ id: string }>(
    `SELECT id FROM support.tickets WHERE tenant_id = $1 AND id = $2`,
    [tenantId(1), ticketId(1, 1)],
  );
  if (r.rowCount !== 1) throw new Error('generated ids do not match md5Uuid()');
}
