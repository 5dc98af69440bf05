import { Client, QueryConfig } from 'pg';
import { DEFAULT_SETTING_NAMES } from '@app/tenancy';
// eslint-disable-next-line no-restricted-imports
import { settingsStatement } from '../../libs/tenancy/src/typeorm/rls-transaction.subscriber';
import { median, p99, round } from './stats';

/** One query, written both ways. */
export interface DbQueryPair {
  id: string;
  label: string;
  /** The query under RLS, as the app role with the settings of `context`. */
  rls: (k: number) => QueryConfig;
  /** The same rows with an explicit WHERE, as the RLS-bypassing baseline role. */
  explicit: (k: number) => QueryConfig;
  context: { tenantId: string; userId: string; role: string };
  /** The RLS side's `requestRoleFunction`, as the app configures it (sales-api's). */
  requestRoleFunction?: string;
}

export interface DbSideResult {
  iterations: number;
  median: number;
  p99: number;
  rows: number;
  explain: string[];
}

export interface DbQueryResult {
  id: string;
  label: string;
  rls: DbSideResult;
  explicit: DbSideResult;
  /** rls / explicit. */
  ratios: { median: number; p99: number };
}

/**
 * A connection as the database-level comparison uses it: inside a transaction, with the settings of
 * `context` written once by the library's own settings statement (the RLS side: with
 * `requestRoleFunction`, it also sets the role as the app's transactions do), or none (the explicit
 * side).
 */
export async function open(
  url: string,
  context?: DbQueryPair['context'],
  requestRoleFunction?: string,
): Promise<Client> {
  const c = new Client({ connectionString: url, application_name: 'bench-db-level' });
  await c.connect();
  await c.query('BEGIN');
  if (context) {
    await c.query(...settingsStatement(DEFAULT_SETTING_NAMES, context, requestRoleFunction));
  }
  return c;
}

async function explain(c: Client, q: QueryConfig): Promise<string[]> {
  const r = await c.query<{ 'QUERY PLAN': string }>({
    text: `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${q.text}`,
    values: q.values,
  });
  return r.rows.map((row) => row['QUERY PLAN']);
}

const CONNECTIONS_PER_SIDE = 3;

/**
 * Each query pair runs alternately for `seconds`, extended protocol on both sides, client-side
 * latency per execution: the RLS side as the app role, inside one transaction per connection with
 * the settings written once; the explicit side as the RLS-bypassing baseline role. Each side uses
 * three connections in turn (the executions rotate over all six): one backend's CPU placement alone
 * shifts its latencies by 5-10 % for a whole run, which would otherwise show up as a difference
 * between the sides. Both sides must return the same number of rows.
 */
export async function compareQueries(
  appUrl: string,
  baselineUrl: string,
  pairs: DbQueryPair[],
  opts: { seconds: number; warmup: number },
  log: (m: string) => void,
): Promise<DbQueryResult[]> {
  const results: DbQueryResult[] = [];
  for (const pair of pairs) {
    const conns: { side: 'rls' | 'explicit'; c: Client }[] = [];
    try {
      for (let i = 0; i < CONNECTIONS_PER_SIDE; i++) {
        conns.push({
          side: 'rls',
          c: await open(appUrl, pair.context, pair.requestRoleFunction),
        });
        conns.push({ side: 'explicit', c: await open(baselineUrl) });
      }
      const run = async (side: 'rls' | 'explicit', c: Client, k: number) => {
        const q = pair[side](k);
        const t = process.hrtime.bigint();
        const r = await c.query({ ...q, queryMode: 'extended' } as QueryConfig);
        return { ms: Number(process.hrtime.bigint() - t) / 1e6, rows: r.rowCount ?? 0 };
      };
      for (let k = 0; k < opts.warmup; k++) for (const x of conns) await run(x.side, x.c, k);
      const times = { rls: [] as number[], explicit: [] as number[] };
      const rows = { rls: 0, explicit: 0 };
      const until = Date.now() + opts.seconds * 1000;
      for (let k = 0; Date.now() < until || k < 10; k++) {
        for (let i = 0; i < conns.length; i++) {
          const x = conns[(i + k) % conns.length];
          const r = await run(x.side, x.c, k);
          times[x.side].push(r.ms);
          rows[x.side] = r.rows;
        }
      }
      if (rows.rls !== rows.explicit) {
        throw new Error(
          `${pair.id}: RLS returned ${rows.rls} rows, explicit WHERE ${rows.explicit}`,
        );
      }
      const side = (s: 'rls' | 'explicit', p: string[]): DbSideResult => ({
        iterations: times[s].length,
        median: round(median(times[s]), 4),
        p99: round(p99(times[s]), 4),
        rows: rows[s],
        explain: p,
      });
      const result: DbQueryResult = {
        id: pair.id,
        label: pair.label,
        rls: side('rls', await explain(conns[0].c, pair.rls(0))),
        explicit: side('explicit', await explain(conns[1].c, pair.explicit(0))),
        ratios: { median: 0, p99: 0 },
      };
      result.ratios = {
        median: round(result.rls.median / result.explicit.median),
        p99: round(result.rls.p99 / result.explicit.p99),
      };
      log(
        `  ${pair.id}: RLS ${result.rls.median} ms, explicit ${result.explicit.median} ms (median, ${result.rls.iterations} each), ratio ${result.ratios.median}, p99 ratio ${result.ratios.p99}`,
      );
      results.push(result);
    } finally {
      for (const x of conns) await x.c.end();
    }
  }
  return results;
}

/** The same query as the app role under RLS, alternating across several databases. */
export async function compareAcrossDatabases(
  appUrls: Record<string, string>,
  query: QueryConfig,
  context: DbQueryPair['context'],
  opts: { seconds: number; warmup: number },
): Promise<Record<string, DbSideResult>> {
  const names = Object.keys(appUrls);
  const clients = new Map<string, Client>();
  try {
    for (const name of names) clients.set(name, await open(appUrls[name], context));
    const run = async (c: Client) => {
      const t = process.hrtime.bigint();
      const r = await c.query({ ...query, queryMode: 'extended' } as QueryConfig);
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, rows: r.rowCount ?? 0 };
    };
    for (let k = 0; k < opts.warmup; k++) for (const c of clients.values()) await run(c);
    const times = new Map<string, number[]>(names.map((n) => [n, []]));
    const rows = new Map<string, number>();
    const until = Date.now() + opts.seconds * 1000;
    for (let k = 0; Date.now() < until || k < 20; k++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + k) % names.length];
        const r = await run(clients.get(name)!);
        times.get(name)!.push(r.ms);
        rows.set(name, r.rows);
      }
    }
    const out: Record<string, DbSideResult> = {};
    for (const name of names) {
      out[name] = {
        iterations: times.get(name)!.length,
        median: round(median(times.get(name)!), 4),
        p99: round(p99(times.get(name)!), 4),
        rows: rows.get(name)!,
        explain: await explain(clients.get(name)!, query),
      };
    }
    return out;
  } finally {
    for (const c of clients.values()) await c.end();
  }
}
