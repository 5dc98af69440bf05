/**
 * Where the team lead's deals spent their extra time under RLS before migration 1764000010000
 * (BENCHMARKS.md, "What was tried"): the database-level pairs of `npm run bench` for the team lead
 * (the first page and every deal) as they were then (the application role, the query naming the
 * subtree too), measured again with parts of the sales policies switched off or replaced, one variant at a time, all in one run so that the variants share the machine's
 * mood. For each variant: the bench's client-side ratio of medians (RLS ÷ by hand), and the
 * server's planning and execution medians from EXPLAIN (ANALYZE, TIMING OFF), both sides alternating.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5499/postgres npm run bench -- --keep --only db
 *   npx ts-node -r tsconfig-paths/register bench/team-lead-breakdown.ts \
 *     postgres://postgres@127.0.0.1:5499/bench_<stamp> [--seconds 5] [--explain 300] \
 *     [--only <variant id>,...] [--alone] [--manager]
 *
 * `--manager` measures the large manager (1,092 people below) instead of the team lead.
 * `--alone` adds two pairs whose RLS side names only the tenant, so that the policy alone decides
 * the subtree (one lookup instead of the query's and the policy's); they are skipped for the
 * variants whose policies leave the subtree to the query. The by-hand side is the same closure join.
 *
 * The URL is a superuser's (the embedded server's or the system one's `postgres`) on a kept,
 * full-size bench database; any other database name is refused. Each variant is committed (the
 * pairs run on other connections), measured, and the two tables' policies and RLS switches are put
 * back as they were found before the next one, also after a failure; the script checks at the end
 * that they are. The two owner-ancestors variants add a column and fill it, so they run last, and
 * the column is dropped and the table rewritten (VACUUM FULL) after each. The plpgsql variant drops
 * its function after it. Never part of `npm run bench`.
 */
import { Client } from 'pg';
import { defaultRoles, withCredentials } from '@app/dev-postgres';
import { currentTenantWhenExpression } from '@app/tenancy';
import { ROLE, TENANT, USER } from '../migrations/1764000002000-SalesSchema';
import { salesTree } from './lib/data';
import { compareQueries, DbQueryPair, open } from './lib/db-level';
import { DEAL_COLUMNS, hierarchyPair } from './lib/hierarchy-pair';
import { BENCH_TENANTS, tenantId } from './lib/ids';
import { FULL_SIZES } from './lib/options';
import { baselineUrl } from './lib/setup';
import { median, round } from './lib/stats';

/** One state of the policies on sales.deals and sales.team_closure. */
interface Variant {
  id: string;
  label: string;
  /** Statements run as the superuser, in one committed transaction, before measuring. */
  install: string[];
  /** Statements run one by one after the policies are put back (VACUUM cannot run in a transaction). */
  cleanup?: string[];
  /** False when the policies leave the subtree to the query: the `--alone` pairs are skipped. */
  policyScope?: false;
}

/** The deals policy the variant puts in place of the migrated deals_visible_owner. */
const visibleOwner = (rule: string): string[] => [
  `DROP POLICY deals_visible_owner ON sales.deals`,
  `CREATE POLICY deals_visible_owner ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
     USING (${rule}) WITH CHECK (${rule})`,
];

/** The migrated CASE with the manager's branch replaced. */
const roleCase = (manager: string): string => `CASE ${ROLE}
    WHEN 'admin' THEN true WHEN 'manager' THEN ${manager}
    WHEN 'rep' THEN owner_id = ${USER} ELSE false END`;

/** A setting read where it stands (no sub-select of its own). */
const setting = (name: string, cast = ''): string =>
  `NULLIF(current_setting('app.${name}', true), '')${cast}`;

/** The closure's read policy with the role check inside the one sub-select. */
const TRIMMED_CLOSURE_READ = `tenant_id = (SELECT CASE
    WHEN ${setting('role')} IN ('rep', 'manager', 'admin') THEN ${setting('tenant_id', '::uuid')} END)`;

/** The caller's subtree in the closure (the manager included), as the migrated policy reads it. */
const SUBTREE = `SELECT c.descendant_id FROM sales.team_closure c
   WHERE c.tenant_id = ${TENANT} AND c.ancestor_id = ${USER}`;
const SUBTREE_IN = `owner_id IN (${SUBTREE})`;

/** Adds and fills `owner_ancestors` (every ancestor of the deal's owner, the owner included). */
const ANCESTORS_COLUMN = [
  `ALTER TABLE sales.deals ADD COLUMN owner_ancestors uuid[]`,
  // No audit rows or updated_at changes for the bench's own column.
  `SET LOCAL session_replication_role = replica`,
  `UPDATE sales.deals d SET owner_ancestors = a.ids
     FROM (SELECT tenant_id, descendant_id, array_agg(ancestor_id) AS ids
             FROM sales.team_closure GROUP BY tenant_id, descendant_id) a
    WHERE a.tenant_id = d.tenant_id AND a.descendant_id = d.owner_id`,
  `ANALYZE sales.deals`,
];
const ANCESTORS_CLEANUP = [
  `ALTER TABLE sales.deals DROP COLUMN IF EXISTS owner_ancestors`,
  `VACUUM (FULL, ANALYZE) sales.deals`,
];

const CLOSURE_RLS_OFF = `ALTER TABLE sales.team_closure DISABLE ROW LEVEL SECURITY`;

const VARIANTS: Variant[] = [
  {
    id: 'no-rls',
    policyScope: false,
    label: 'no RLS on deals or the closure',
    install: [`ALTER TABLE sales.deals DISABLE ROW LEVEL SECURITY`, CLOSURE_RLS_OFF],
  },
  {
    id: 'guard',
    policyScope: false,
    label: "deals' tenant guard only (closure RLS off)",
    install: [...visibleOwner('true'), CLOSURE_RLS_OFF],
  },
  {
    id: 'case-closure-off',
    policyScope: false,
    label: "plus the role CASE, the manager's branch true (closure RLS off)",
    install: [...visibleOwner(roleCase('true')), CLOSURE_RLS_OFF],
  },
  {
    id: 'case',
    policyScope: false,
    label: "plus the closure's own policies (in the query's IN (SELECT ...))",
    install: visibleOwner(roleCase('true')),
  },
  {
    id: 'migrated',
    label: 'plus the subtree check: the policies as migrated',
    install: [],
  },
  {
    id: 'trimmed',
    label: 'the policies as migrated, each setting read in one sub-select (no nested ones)',
    install: [
      ...visibleOwner(`CASE (SELECT ${setting('role')})
        WHEN 'admin' THEN true
        WHEN 'manager' THEN owner_id IN (
          SELECT c.descendant_id FROM sales.team_closure c
           WHERE c.tenant_id = ${setting('tenant_id', '::uuid')}
             AND c.ancestor_id = ${setting('user_id', '::uuid')})
        WHEN 'rep' THEN owner_id = (SELECT ${setting('user_id', '::uuid')})
        ELSE false END`),
      `DROP POLICY team_closure_read ON sales.team_closure`,
      `CREATE POLICY team_closure_read ON sales.team_closure AS PERMISSIVE FOR SELECT TO PUBLIC
         USING (${TRIMMED_CLOSURE_READ})`,
    ],
  },
  {
    id: 'or-split',
    label: 'the CASE split into three OR-ed permissive policies',
    install: [
      `DROP POLICY deals_visible_owner ON sales.deals`,
      `CREATE POLICY deals_admin ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
         USING (tenant_id = ${currentTenantWhenExpression(`${ROLE} = 'admin'`)})`,
      `CREATE POLICY deals_subtree ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
         USING (owner_id IN (SELECT c.descendant_id FROM sales.team_closure c
                 WHERE c.tenant_id = ${currentTenantWhenExpression(`${ROLE} = 'manager'`)}
                   AND c.ancestor_id = ${USER}))`,
      `CREATE POLICY deals_own ON sales.deals AS PERMISSIVE FOR ALL TO PUBLIC
         USING (owner_id = ${USER} AND ${ROLE} = 'rep')`,
    ],
  },
  {
    id: 'subtree-no-case',
    label: "the manager's subtree check alone, no role CASE (one PostgreSQL role per app role)",
    install: visibleOwner(SUBTREE_IN),
  },
  {
    id: 'any-bare',
    label: 'owner_id = ANY (the subtree as one array), no role CASE',
    install: visibleOwner(`owner_id = ANY (ARRAY(${SUBTREE}))`),
  },
  {
    id: 'plpgsql-subtree',
    label: 'the subtree from a plpgsql function (plan cached per connection), no role CASE',
    install: [
      `CREATE FUNCTION sales.bench_subtree() RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$
       BEGIN RETURN ARRAY(${SUBTREE}); END $$`,
      ...visibleOwner(`owner_id IN (SELECT unnest(sales.bench_subtree()))`),
    ],
    cleanup: [`DROP FUNCTION IF EXISTS sales.bench_subtree()`],
  },
  {
    id: 'ancestors-no-case',
    label: "the owner's ancestors on each deal, no role CASE: me = ANY (owner_ancestors)",
    install: [...ANCESTORS_COLUMN, ...visibleOwner(`${USER} = ANY (owner_ancestors)`)],
    cleanup: ANCESTORS_CLEANUP,
  },
  {
    id: 'ancestors',
    label: "the owner's ancestors kept on each deal: me = ANY (owner_ancestors)",
    install: [...ANCESTORS_COLUMN, ...visibleOwner(roleCase(`${USER} = ANY (owner_ancestors)`))],
    cleanup: ANCESTORS_CLEANUP,
  },
];

const TABLES = ['deals', 'team_closure'];

/** The policies and RLS switches of the two tables, as SQL that recreates them, in a stable order. */
async function policyState(c: Client): Promise<{ create: string[]; rls: string[] }> {
  const policies = await c.query<{ sql: string }>(
    `SELECT format('CREATE POLICY %I ON %I.%I AS %s FOR %s TO %s', policyname, schemaname, tablename,
                   permissive, cmd, array_to_string(roles, ', '))
            || coalesce(' USING (' || qual || ')', '')
            || coalesce(' WITH CHECK (' || with_check || ')', '') AS sql
       FROM pg_policies WHERE schemaname = 'sales' AND tablename = ANY ($1)
      ORDER BY tablename, policyname`,
    [TABLES],
  );
  const rls = await c.query<{ sql: string }>(
    `SELECT format('ALTER TABLE sales.%I %s ROW LEVEL SECURITY', relname,
                   CASE WHEN relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END) AS sql
       FROM pg_class WHERE relnamespace = 'sales'::regnamespace AND relname = ANY ($1)
      ORDER BY relname`,
    [TABLES],
  );
  return { create: policies.rows.map((r) => r.sql), rls: rls.rows.map((r) => r.sql) };
}

/** Runs `work` in a transaction on `c`: committed if it returns, rolled back if it throws. */
async function inTransaction(c: Client, work: () => Promise<void>): Promise<void> {
  await c.query('BEGIN');
  try {
    await work();
    await c.query('COMMIT');
  } catch (error) {
    await c.query('ROLLBACK');
    throw error;
  }
}

/** Puts the policies of `state` back: drops every policy of the two tables and recreates them. */
async function restore(c: Client, state: { create: string[]; rls: string[] }): Promise<void> {
  await inTransaction(c, async () => {
    const current = await c.query<{ policyname: string; tablename: string }>(
      `SELECT policyname, tablename FROM pg_policies WHERE schemaname = 'sales' AND tablename = ANY ($1)`,
      [TABLES],
    );
    for (const p of current.rows) {
      await c.query(`DROP POLICY ${c.escapeIdentifier(p.policyname)} ON sales.${p.tablename}`);
    }
    for (const sql of [...state.create, ...state.rls]) await c.query(sql);
  });
}

/**
 * A pair as it was before migration 1764000010000, which these variants take apart: the RLS side
 * as the application role (no request role) and its query naming the manager's subtree too, as
 * sales-api's did (`IN (SELECT ...)` for a page, `= ANY (ARRAY(...))` for every deal); `--alone`
 * drops that. The by-hand side is unchanged.
 */
function namedScopePair(pair: DbQueryPair): DbQueryPair {
  const page = pair.id === 'page';
  const subtree = `SELECT c.descendant_id FROM sales.team_closure c
                    WHERE c.tenant_id = $1 AND c.ancestor_id = $2`;
  const scope = page ? `d.owner_id IN (${subtree})` : `d.owner_id = ANY (ARRAY(${subtree}))`;
  return {
    ...pair,
    requestRoleFunction: undefined,
    rls: () => ({
      text: `SELECT ${DEAL_COLUMNS} FROM sales.deals d WHERE d.tenant_id = $1 AND ${scope}
              ORDER BY d.created_at, d.id${page ? ' LIMIT 51' : ''}`,
      values: [pair.context.tenantId, pair.context.userId],
    }),
  };
}

interface ExplainMedians {
  planning: number;
  execution: number;
}

/** EXPLAIN (ANALYZE, TIMING OFF) of each side of `pair`, alternating `runs` times: medians in ms. */
async function explainMedians(
  appUrl: string,
  baseUrl: string,
  pair: DbQueryPair,
  runs: number,
): Promise<{ rls: ExplainMedians; explicit: ExplainMedians }> {
  const app = await open(appUrl, pair.context);
  const base = await open(baseUrl);
  try {
    const samples = {
      rls: { planning: [] as number[], execution: [] as number[] },
      explicit: { planning: [] as number[], execution: [] as number[] },
    };
    for (let k = 0; k < runs; k++) {
      for (const [side, c] of [
        ['rls', app],
        ['explicit', base],
      ] as const) {
        const q = pair[side](k);
        const r = await c.query<{
          'QUERY PLAN': [{ 'Planning Time': number; 'Execution Time': number }];
        }>({
          text: `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${q.text}`,
          values: q.values,
        });
        samples[side].planning.push(r.rows[0]['QUERY PLAN'][0]['Planning Time']);
        samples[side].execution.push(r.rows[0]['QUERY PLAN'][0]['Execution Time']);
      }
    }
    const medians = (s: { planning: number[]; execution: number[] }) => ({
      planning: round(median(s.planning), 4),
      execution: round(median(s.execution), 4),
    });
    return { rls: medians(samples.rls), explicit: medians(samples.explicit) };
  } finally {
    await app.end();
    await base.end();
  }
}

interface Args {
  url: string;
  seconds: number;
  explain: number;
  /** Variant ids to run (all when empty). */
  only: string[];
  /** Also measure the query naming only the tenant, the policy alone deciding the subtree. */
  alone: boolean;
  /** Whose deals: the team lead (39 people below, the default) or the large manager (1,092). */
  caller: 'teamLead' | 'manager';
}

function parseArgs(argv: string[]): Args {
  const usage =
    'usage: bench/team-lead-breakdown.ts <superuser URL of a kept bench_* database> [--seconds N] [--explain N] [--only id,id] [--alone] [--manager]';
  let url = '';
  let seconds = 5;
  let explain = 300;
  let only: string[] = [];
  let alone = false;
  let caller: Args['caller'] = 'teamLead';
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(usage);
      return n;
    };
    if (argv[i] === '--seconds') seconds = value();
    else if (argv[i] === '--explain') explain = value();
    else if (argv[i] === '--alone') alone = true;
    else if (argv[i] === '--manager') caller = 'manager';
    else if (argv[i] === '--only') {
      only = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = only.filter((id) => !VARIANTS.some((v) => v.id === id));
      if (!only.length || unknown.length)
        throw new Error(`${usage}\nvariants: ${VARIANTS.map((v) => v.id).join(', ')}`);
    } else if (!url && !argv[i].startsWith('-')) url = argv[i];
    else throw new Error(usage);
  }
  if (!url) throw new Error(usage);
  return { url, seconds, explain, only, alone, caller };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const database = decodeURIComponent(new URL(opts.url).pathname.slice(1));
  if (!/^bench_\d+$/.test(database)) {
    throw new Error(
      `refusing to change the policies of "${database}": not a kept bench_* database`,
    );
  }
  const roles = defaultRoles();
  const appUrl = withCredentials(opts.url, { user: roles.app, password: roles.appPassword });
  const baseUrl = baselineUrl(opts.url, database);
  const tenant = tenantId(BENCH_TENANTS.sales);
  const lead = salesTree(FULL_SIZES)[opts.caller];
  const whose = opts.caller === 'manager' ? "the manager's" : "the team lead's";
  const pairs = [
    namedScopePair(hierarchyPair('page', `${whose} first 50 deals`, tenant, lead, true)),
    namedScopePair(hierarchyPair('all', `every deal of ${whose} subtree`, tenant, lead, false)),
  ];
  if (opts.alone) {
    for (const pair of [...pairs]) {
      const page = pair.id === 'page';
      pairs.push({
        ...pair,
        id: `${pair.id}-alone`,
        label: `${pair.label}, the query naming only the tenant (the policy alone decides the subtree)`,
        rls: () => ({
          text: `SELECT ${DEAL_COLUMNS} FROM sales.deals d WHERE d.tenant_id = $1
                  ORDER BY d.created_at, d.id${page ? ' LIMIT 51' : ''}`,
          values: [tenant],
        }),
      });
    }
  }
  const variants = opts.only.length ? VARIANTS.filter((v) => opts.only.includes(v.id)) : VARIANTS;

  const admin = new Client({ connectionString: opts.url, application_name: 'bench-breakdown' });
  await admin.connect();
  const below = await admin.query<{ n: string }>(
    `SELECT count(*) - 1 AS n FROM sales.team_closure WHERE tenant_id = $1 AND ancestor_id = $2`,
    [tenant, lead.userId],
  );
  if (Number(below.rows[0].n) !== lead.below) {
    throw new Error(
      `${whose.slice(4, -2)} has ${below.rows[0].n} people below here, ${lead.below} in a full-size bench database`,
    );
  }
  const found = await policyState(admin);
  const log = (m: string) => console.log(m);
  const table: string[] = [];
  try {
    for (const variant of variants) {
      log(`${variant.id}: ${variant.label}`);
      try {
        await inTransaction(admin, async () => {
          for (const sql of variant.install) await admin.query(sql);
        });
        const used = pairs.filter((p) => variant.policyScope !== false || !p.id.endsWith('-alone'));
        const compared = await compareQueries(
          appUrl,
          baseUrl,
          used,
          { seconds: opts.seconds, warmup: 50 },
          log,
        );
        const cells: string[] = [];
        for (const pair of pairs) {
          const i = used.indexOf(pair);
          if (i < 0) {
            cells.push('—', '—', '—');
            continue;
          }
          const e = await explainMedians(appUrl, baseUrl, pair, opts.explain);
          log(
            `  ${pair.id}: EXPLAIN medians RLS ${JSON.stringify(e.rls)}, by hand ${JSON.stringify(e.explicit)}`,
          );
          cells.push(
            `**${compared[i].ratios.median.toFixed(2)}**`,
            `${e.rls.planning.toFixed(3)} / ${e.explicit.planning.toFixed(3)}`,
            `${e.rls.execution.toFixed(3)} / ${e.explicit.execution.toFixed(3)}`,
          );
        }
        table.push(`| ${variant.label} | ${cells.join(' | ')} |`);
      } finally {
        await restore(admin, found);
        for (const sql of variant.cleanup ?? []) await admin.query(sql);
      }
    }
    const after = await policyState(admin);
    if (JSON.stringify(after) !== JSON.stringify(found)) {
      throw new Error('the policies were not restored as found: compare pg_policies by hand');
    }
  } finally {
    await admin.end();
  }
  const head = pairs.map((p) => `${p.id}: ratio | planning ms RLS / by hand | execution ms`);
  console.log(
    `\n| policies in force | ${head.join(' | ')} |\n| --- |${' --- | --- | --- |'.repeat(pairs.length)}\n${table.join('\n')}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
