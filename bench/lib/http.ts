import { AppProcess } from './app-process';
import { LoadRequest, LoadResult, runLoad } from './load';
import { PgCpuMeter } from './pg-cpu';
import { concat, median, p99, quantile, round } from './stats';

/**
 * The sides of an HTTP comparison: the library app, the baseline (the same API by hand, its JWT key
 * built once as the library builds its own: equal footing), the library without pipeline mode, and
 * the naive baseline (its JWT secret a string that jsonwebtoken re-parses per verify; an extra).
 */
export type SideName = 'library' | 'baseline' | 'librarySerial' | 'baselineNaive';

/** A route to compare: the requests autocannon cycles through, and each side's app. */
export interface HttpRoute {
  id: string;
  label: string;
  requests: LoadRequest[];
  sides: Partial<Record<SideName, AppProcess>>;
}

/** One round of one side. */
export interface HttpRound {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** CPU per request (µs) of the app's process, and of PostgreSQL (when measurable). */
  appCpuUs: number;
  pgCpuUs?: number;
}

/** One side of one route: every round and the summary over rounds. */
export interface HttpSideResult {
  rounds: HttpRound[];
  /** Median over rounds of requests per second. */
  rps: number;
  /** Latency percentiles (ms) over every response of every round. */
  p50: number;
  p90: number;
  p99: number;
  /** Median over rounds of CPU per request (µs): app process, PostgreSQL. */
  appCpuUs: number;
  pgCpuUs?: number;
  non2xx: number;
  errors: number;
  /** Seconds per round (longer than asked for on a route too slow to count in short rounds). */
  roundSeconds: number;
}

/** Side a / side b. */
export interface SideRatios {
  /** Median over rounds of (a req/s ÷ b req/s in the same round): higher is better. */
  throughput: number;
  /** a's median req/s ÷ b's median req/s. */
  throughputOfMedians: number;
  /** Pooled latency percentiles, a ÷ b: lower is better. */
  p50: number;
  p99: number;
  /** CPU per request, a ÷ b. */
  appCpu: number;
  pgCpu?: number;
}

export interface HttpRouteResult {
  id: string;
  label: string;
  connections: number;
  roundSeconds: number;
  sides: Partial<Record<SideName, HttpSideResult>>;
  /** library / baseline (equal footing): what the targets are checked on. */
  ratios: SideRatios;
  /** librarySerial / baseline, when measured. */
  serialRatios?: SideRatios;
  /** library / baselineNaive, when measured. */
  naiveRatios?: SideRatios;
}

/** Load options shared by every comparison. */
export interface LoadOptions {
  connections: number;
  warmupSeconds: number;
  roundSeconds: number;
  rounds: number;
  /**
   * Rounds are lengthened (up to `maxRoundSeconds`) so that the slowest side completes about this
   * many requests per round: on a route of a few requests per second a 3 s round counts a dozen
   * responses while as many are still in flight, and the round-by-round ratio is mostly that
   * rounding. Unset: rounds of `roundSeconds`.
   */
  minRequestsPerRound?: number;
  maxRoundSeconds?: number;
}

type Log = (message: string) => void;

function summarize(
  results: LoadResult[],
  rounds: HttpRound[],
  roundSeconds: number,
): HttpSideResult {
  const all = concat(results.map((r) => r.latencies));
  const pg = rounds.map((r) => r.pgCpuUs).filter((v): v is number => v !== undefined);
  return {
    rounds,
    rps: round(median(results.map((r) => r.rps)), 1),
    p50: round(median(all)),
    p90: round(quantile(all, 0.9)),
    p99: round(p99(all)),
    appCpuUs: Math.round(median(rounds.map((r) => r.appCpuUs))),
    pgCpuUs: pg.length ? Math.round(median(pg)) : undefined,
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    roundSeconds,
  };
}

/** Ratios of side a over side b, pairing rounds for throughput. */
export function sideRatios(a: HttpSideResult, b: HttpSideResult): SideRatios {
  const paired = a.rounds.map((r, i) => r.rps / b.rounds[i].rps);
  return {
    throughput: round(median(paired)),
    throughputOfMedians: round(a.rps / b.rps),
    p50: round(a.p50 / b.p50),
    p99: round(a.p99 / b.p99),
    appCpu: round(a.appCpuUs / b.appCpuUs),
    pgCpu: a.pgCpuUs && b.pgCpuUs ? round(a.pgCpuUs / b.pgCpuUs) : undefined,
  };
}

/**
 * Runs the same requests against several sides in one process run: a warm-up per side, then
 * `rounds` rounds in which every side runs once, the order rotating from round to round so that
 * no side always goes first (or right after the heaviest one). Around each run: the CPU the app's
 * process and PostgreSQL used, per request.
 */
export async function compareSides(
  id: string,
  requests: LoadRequest[],
  apps: Record<string, AppProcess>,
  opts: LoadOptions,
  pgCpu: PgCpuMeter | undefined,
  log: Log,
): Promise<Record<string, HttpSideResult>> {
  const sides = Object.keys(apps);
  const load = (side: string, seconds: number) =>
    runLoad({ url: apps[side].url, connections: opts.connections, seconds, requests });
  let slowest = Infinity;
  for (const side of sides) {
    const warm = await load(side, opts.warmupSeconds);
    if (warm.non2xx || !warm.ok) {
      throw new Error(`${id} ${side}: ${JSON.stringify(warm.statusCodes)} during warm-up`);
    }
    slowest = Math.min(slowest, warm.rps);
  }
  const roundSeconds = opts.minRequestsPerRound
    ? round(
        Math.min(
          opts.maxRoundSeconds ?? opts.roundSeconds,
          Math.max(opts.roundSeconds, opts.minRequestsPerRound / Math.max(slowest, 0.1)),
        ),
        1,
      )
    : opts.roundSeconds;
  if (roundSeconds !== opts.roundSeconds) {
    log(`  ${id}: ${slowest.toFixed(1)} req/s in the warm-up, rounds of ${roundSeconds} s`);
  }
  const runs = new Map<string, { loads: LoadResult[]; rounds: HttpRound[] }>(
    sides.map((s) => [s, { loads: [], rounds: [] }]),
  );
  for (let r = 0; r < opts.rounds; r++) {
    const order = sides.map((_, k) => sides[(k + r) % sides.length]);
    const line: string[] = [];
    for (const side of order) {
      // Re-open the pool's connections (pg closes them after 10 s idle) outside the measurement.
      await load(side, 0.5);
      const app0 = await apps[side].cpu();
      const pg0 = pgCpu?.sample();
      const result = await load(side, roundSeconds);
      const appCpu = (await apps[side].cpu()) - app0;
      const pgUsed = pg0 && pgCpu!.usedBetween(pg0, pgCpu!.sample());
      const n = Math.max(result.ok + result.non2xx, 1);
      const entry = runs.get(side)!;
      entry.loads.push(result);
      entry.rounds.push({
        rps: round(result.rps, 1),
        p50: round(median(result.latencies)),
        p99: round(p99(result.latencies)),
        ok: result.ok,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        appCpuUs: Math.round(appCpu / n),
        pgCpuUs: pgUsed === undefined ? undefined : Math.round(pgUsed / n),
      });
      line.push(
        `${side} ${result.rps.toFixed(0)}/s p99 ${p99(result.latencies).toFixed(1)}ms cpu ${Math.round(appCpu / n)}+${pgUsed === undefined ? '?' : Math.round(pgUsed / n)}µs${result.non2xx ? ` (${result.non2xx} non-2xx!)` : ''}`,
      );
    }
    log(`  ${id} ${r + 1}/${opts.rounds}: ${line.join(', ')}`);
  }
  const summary: Record<string, HttpSideResult> = {};
  for (const side of sides)
    summary[side] = summarize(runs.get(side)!.loads, runs.get(side)!.rounds, roundSeconds);
  return summary;
}

/** Compares a route's sides (library, baseline, library without pipeline, naive baseline). */
export async function compareRoute(
  route: HttpRoute,
  opts: LoadOptions,
  pgCpu: PgCpuMeter | undefined,
  log: Log,
): Promise<HttpRouteResult> {
  const apps: Record<string, AppProcess> = {};
  for (const [side, app] of Object.entries(route.sides)) if (app) apps[side] = app;
  const summary = (await compareSides(route.id, route.requests, apps, opts, pgCpu, log)) as Partial<
    Record<SideName, HttpSideResult>
  >;
  return {
    id: route.id,
    label: route.label,
    connections: opts.connections,
    roundSeconds: summary.library!.roundSeconds,
    sides: summary,
    ratios: sideRatios(summary.library!, summary.baseline!),
    serialRatios: summary.librarySerial
      ? sideRatios(summary.librarySerial, summary.baseline!)
      : undefined,
    naiveRatios: summary.baselineNaive
      ? sideRatios(summary.library!, summary.baselineNaive)
      : undefined,
  };
}
