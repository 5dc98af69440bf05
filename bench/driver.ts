import { Client, Query, QueryConfig } from 'pg';
import { DEFAULT_SETTING_NAMES } from '@app/tenancy';
// This script measures exactly what the tenant transaction sends, minus Nest and TypeORM, so it
// takes the library's own flight control and settings statement (internal modules, not its API).
// eslint-disable-next-line no-restricted-imports
import {
  holdWritesUntilIdle,
  holdWritesUntilNextTick,
} from '../libs/tenancy/src/typeorm/pg-write-batching';
// eslint-disable-next-line no-restricted-imports
import { settingsStatement } from '../libs/tenancy/src/typeorm/rls-transaction.subscriber';
import { agentOf, sampleTicketIds, TICKET_COLUMNS } from './lib/data';
import { BENCH_TENANTS, tenantId } from './lib/ids';
import { QUICK_SIZES } from './lib/options';
import { PgCpuMeter } from './lib/pg-cpu';
import { flagReader, runScript } from './lib/script';
import { setUpEnvironment } from './lib/setup';
import { median, round } from './lib/stats';

/** One way of reading a ticket by id on a connection; `k` picks the ticket. */
type Shape = (c: Client, k: number) => Promise<void>;

const POOL = 10;
const CONCURRENCY = 16;

/**
 * The single-row lookup at the driver level, without Nest or TypeORM: the baseline's one statement
 * (explicit WHERE, RLS-bypassing role) against the library's four (BEGIN, settings, the lookup
 * under RLS, COMMIT) sent serially, pipelined with the COMMIT awaited, and as the library sends
 * them (one flight, the read-only COMMIT not awaited and leaving with the connection's next
 * flight), and a lever the library does not use: the settings in front of the lookup in one implicit
 * transaction, no BEGIN or COMMIT (`PreludedQuery`). 16 concurrent loops over 10 connections per shape, the shapes alternating round by
 * round; reports throughput, its ratio to the baseline in the same round, and CPU per lookup of
 * this process (Node: pg's work) and of PostgreSQL. What the library's statements cost before any
 * HTTP, Nest or TypeORM work is added on top.
 *
 *   npx ts-node -r tsconfig-paths/register bench/driver.ts [--rounds 6] [--seconds 3]
 *     [--only baseline,library]   (some of the shapes: baseline, serial, pipelinedCommitAwaited,
 *                                  library, implicitTransaction)
 */
async function main(): Promise<void> {
  const arg = flagReader();
  const rounds = Number(arg('--rounds', '6'));
  const seconds = Number(arg('--seconds', '3'));
  const only = arg('--only', '').split(',').filter(Boolean);
  const env = await setUpEnvironment(QUICK_SIZES, false, (m) => console.log(m));
  const read = BENCH_TENANTS.supportRead;
  const tenant = tenantId(read);
  const ids = sampleTicketIds(QUICK_SIZES, read, 200);
  const [settingsText, settingsValues] = settingsStatement(DEFAULT_SETTING_NAMES, {
    tenantId: tenant,
    userId: agentOf(read),
    role: 'agent',
    requestId: 'bench-driver',
  });
  const settings: QueryConfig = {
    name: 'tenancy_settings',
    text: settingsText,
    values: settingsValues,
  };
  const lookup = (k: number): QueryConfig => ({
    text: `SELECT ${TICKET_COLUMNS} FROM support.tickets WHERE id = $1`,
    values: [ids[k % ids.length]],
  });
  const flight = (c: Client, k: number): Promise<unknown> => {
    holdWritesUntilNextTick(c);
    return Promise.all([c.query('START TRANSACTION'), c.query(settings), c.query(lookup(k))]);
  };
  const implicit = (c: Client, config: QueryConfig): Promise<unknown> =>
    new Promise((resolve, reject) => {
      holdWritesUntilNextTick(c);
      const query = new PreludedQuery(settings, config, (e, r) => (e ? reject(e) : resolve(r)));
      void c.query(query as unknown as Query);
    });
  const shapes: Record<string, { url: string; pipeline: boolean; run: Shape }> = {
    baseline: {
      url: env.main.baselineUrl,
      pipeline: false,
      run: async (c, k) => {
        await c.query({
          text: `SELECT ${TICKET_COLUMNS} FROM support.tickets WHERE tenant_id = $1 AND id = $2`,
          values: [tenant, ids[k % ids.length]],
        });
      },
    },
    serial: {
      url: env.main.appUrl,
      pipeline: false,
      run: async (c, k) => {
        await c.query('START TRANSACTION');
        await c.query(settings);
        await c.query(lookup(k));
        await c.query('COMMIT');
      },
    },
    pipelinedCommitAwaited: {
      url: env.main.appUrl,
      pipeline: true,
      run: async (c, k) => {
        await flight(c, k);
        await c.query('COMMIT');
      },
    },
    library: {
      url: env.main.appUrl,
      pipeline: true,
      run: async (c, k) => {
        await flight(c, k);
        holdWritesUntilIdle(c);
        c.query('COMMIT').catch((e: unknown) => console.error(`COMMIT failed: ${String(e)}`));
      },
    },
    implicitTransaction: {
      url: env.main.appUrl,
      pipeline: true,
      run: async (c, k) => {
        await implicit(c, lookup(k));
      },
    },
  };
  await checkImplicitTransaction(env.main.appUrl, settings, implicit);
  const pgCpu = await PgCpuMeter.open(env.server.adminUrl).catch(() => undefined);
  const names = Object.keys(shapes).filter((n) => !only.length || only.includes(n));
  const pools: Record<string, Client[]> = {};
  try {
    for (const name of names) {
      pools[name] = [];
      for (let i = 0; i < POOL; i++) {
        const c = new Client({
          connectionString: shapes[name].url,
          pipeline: shapes[name].pipeline,
        });
        await c.connect();
        pools[name].push(c);
      }
    }
    const result = Object.fromEntries(
      names.map((n) => [
        n,
        { rps: [] as number[], ratio: [] as number[], node: [] as number[], pg: [] as number[] },
      ]),
    );
    for (const name of names) await drive(pools[name], shapes[name].run, 1);
    for (let r = 0; r < rounds; r++) {
      const got: Record<string, number> = {};
      for (const name of names.map((_, i) => names[(i + r) % names.length])) {
        const cpu0 = process.cpuUsage();
        const pg0 = pgCpu?.sample();
        const done = await drive(pools[name], shapes[name].run, seconds);
        const cpu = process.cpuUsage(cpu0);
        result[name].node.push((cpu.user + cpu.system) / done.count);
        if (pgCpu && pg0) result[name].pg.push(pgCpu.usedBetween(pg0, pgCpu.sample()) / done.count);
        got[name] = done.count / done.seconds;
        result[name].rps.push(got[name]);
      }
      for (const name of names) result[name].ratio.push(got[name] / got.baseline);
      console.log(
        `round ${r + 1}: ${names.map((n) => `${n} ${got[n].toFixed(0)}/s (${(got[n] / got.baseline).toFixed(3)})`).join(', ')}`,
      );
    }
    for (const name of names) {
      const x = result[name];
      console.log(
        `${name}: median ${median(x.rps).toFixed(0)} lookups/s, ratio to baseline ${round(median(x.ratio))}, CPU µs per lookup Node ${median(x.node).toFixed(1)} + PostgreSQL ${x.pg.length ? median(x.pg).toFixed(1) : '?'}`,
      );
    }
  } finally {
    for (const pool of Object.values(pools)) for (const c of pool) await c.end();
    await env.cleanup(false);
  }
}

/** What pg's Query does underneath its public API (pg 8: the Submittable protocol). */
interface PgQueryInternals {
  prepare(connection: PgConnectionInternals): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: PgConnectionInternals): void;
}
interface PgConnectionInternals {
  parsedStatements: Record<string, string>;
  parse(m: { text: string; name: string; types: unknown[] }): void;
  bind(m: { statement: string; values: unknown[] }): void;
  execute(m: { portal: string; rows: number }): void;
}
const PgQuery = Query as unknown as new (
  config: QueryConfig,
  callback: (error: Error | undefined, result: unknown) => void,
) => PgQueryInternals;

/**
 * The measurement of a lever the library does not use: the settings statement sent in front of
 * the lookup's own messages, before its one Sync, so that both run in one implicit transaction
 * (PostgreSQL, "Extended Query": a Sync closes the implicit transaction of the statements before
 * it; `set_config(..., true)` ends there) and no BEGIN or COMMIT is sent. pg's public API sends a
 * Sync after every query, so this needs a subclass of pg's Query that reaches its internals; the
 * settings statement's row and command tag are dropped.
 */
class PreludedQuery extends PgQuery {
  private preludeDone = false;

  constructor(
    private readonly prelude: QueryConfig,
    config: QueryConfig,
    callback: (error: Error | undefined, result: unknown) => void,
  ) {
    super(config, callback);
  }

  override prepare(connection: PgConnectionInternals): void {
    const name = this.prelude.name!;
    if (connection.parsedStatements[name] === undefined) {
      connection.parse({ text: this.prelude.text, name, types: [] });
      connection.parsedStatements[name] = this.prelude.text;
    }
    connection.bind({ statement: name, values: this.prelude.values ?? [] });
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
  }

  override handleDataRow(message: unknown): void {
    if (this.preludeDone) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnectionInternals): void {
    if (this.preludeDone) super.handleCommandComplete(message, connection);
    else this.preludeDone = true;
  }
}

/**
 * Checks the implicit transaction's semantics before measuring it: inside, the statement sees the
 * settings; the next statement on the same connection sees none of them.
 */
async function checkImplicitTransaction(
  url: string,
  settings: QueryConfig,
  implicit: (c: Client, config: QueryConfig) => Promise<unknown>,
): Promise<void> {
  const c = new Client({ connectionString: url, pipeline: true });
  await c.connect();
  try {
    const read = { text: `SELECT current_setting($1, true) AS v`, values: [settings.values![0]] };
    const inside = (await implicit(c, read)) as { rows: { v: string }[] };
    const after = await c.query<{ v: string | null }>(read);
    const [{ v }] = inside.rows;
    if (v !== settings.values![1] || after.rows[0].v) {
      throw new Error(`implicit transaction: inside ${v}, after ${after.rows[0].v}`);
    }
    console.log(
      `implicit transaction checked: the setting is ${v} inside and empty after its Sync`,
    );
  } finally {
    await c.end();
  }
}

/** Runs `CONCURRENCY` loops of `run` over the pool's clients for `seconds`. */
async function drive(
  pool: Client[],
  run: Shape,
  seconds: number,
): Promise<{ count: number; seconds: number }> {
  const free = [...pool];
  const waiting: ((c: Client) => void)[] = [];
  const acquire = (): Promise<Client> =>
    free.length ? Promise.resolve(free.pop()!) : new Promise((ok) => waiting.push(ok));
  const release = (c: Client): void => {
    const next = waiting.shift();
    if (next) next(c);
    else free.push(c);
  };
  let count = 0;
  const start = process.hrtime.bigint();
  const until = Date.now() + seconds * 1000;
  const loop = async (offset: number): Promise<void> => {
    for (let k = offset; Date.now() < until; k += CONCURRENCY) {
      const c = await acquire();
      try {
        await run(c, k);
      } finally {
        release(c);
      }
      count++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
  return { count, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

runScript(main);
