import { DelayProxy } from './delay-proxy';
import { LoadRequest } from './load';
import { round } from './stats';
import { shortStatement } from './statement-log';
import { AppProcess } from './app-process';
import { SideName } from './http';

/** A route whose statements and waited-for round trips are counted, one request at a time. */
export interface RoundTripRoute {
  id: string;
  label: string;
  /** The k-th request (k grows with every call, for unique tenants or bodies). */
  request(k: number): LoadRequest;
  expectStatus: number;
  /** The app of each side (connected to PostgreSQL through the delay proxy). */
  sides: Partial<Record<SideName, AppProcess>>;
}

export interface RoundTripSide {
  /** Statements sent to PostgreSQL for one request, in order (short form). */
  statements: string[];
  /** Flights: groups of statements sent back to back without waiting (pipelined). */
  flights: number;
  /** Round trips the request waited for, from latency at two proxy delays (fractional). */
  waitedMeasured: number;
  /** The same, rounded. */
  waited: number;
  /** Fastest latency (ms) of the samples at each delay. */
  latency: Record<string, number>;
}

export interface RoundTripResult {
  id: string;
  label: string;
  sides: Partial<Record<SideName, RoundTripSide>>;
  /** Waited-for round trips beyond the baseline's own (library, pipelined). */
  extraWaited?: number;
  extraWaitedSerial?: number;
}

async function send(base: string, req: LoadRequest, expect: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(base + req.path, {
    method: req.method,
    headers: req.headers,
    body: req.body,
  });
  await res.arrayBuffer();
  const ms = performance.now() - started;
  if (res.status !== expect)
    throw new Error(`${req.method} ${req.path}: ${res.status}, expected ${expect}`);
  return ms;
}

/**
 * For each route and side: the statements one request sends (counted at the pg client), the
 * flights they travel in, and the round trips the request waits for, measured as the latency
 * growth between two delays of the proxy in front of PostgreSQL.
 */
export async function countRoundTrips(
  routes: RoundTripRoute[],
  proxy: DelayProxy,
  opts: { samples: number; delays: [number, number] },
  log: (m: string) => void,
): Promise<RoundTripResult[]> {
  const results: RoundTripResult[] = [];
  let k = 0;
  try {
    for (const route of routes) {
      const sides: Partial<Record<SideName, RoundTripSide>> = {};
      for (const side of Object.keys(route.sides) as SideName[]) {
        const app = route.sides[side]!;
        const base = app.url;
        proxy.delayMs = 0;
        for (let w = 0; w < 3; w++) await send(base, route.request(k++), route.expectStatus);
        const sent = await app.statementsDuring(() =>
          send(base, route.request(k++), route.expectStatus),
        );
        const latency: Record<string, number> = {};
        for (const d of opts.delays) {
          proxy.delayMs = d;
          await send(base, route.request(k++), route.expectStatus);
          const samples: number[] = [];
          for (let s = 0; s < opts.samples; s++) {
            samples.push(await send(base, route.request(k++), route.expectStatus));
          }
          // The fastest of the samples: contention only ever adds time.
          latency[`${d}ms`] = round(Math.min(...samples), 2);
        }
        proxy.delayMs = 0;
        const [d1, d2] = opts.delays;
        const waitedMeasured = round((latency[`${d2}ms`] - latency[`${d1}ms`]) / (d2 - d1), 2);
        sides[side] = {
          statements: sent.statements.map((s) => shortStatement(s)),
          flights: sent.flights,
          waitedMeasured,
          waited: Math.round(waitedMeasured),
          latency,
        };
        log(
          `  ${route.id} ${side}: ${sent.statements.length} statements, ${sent.flights} flights, waited ${waitedMeasured}`,
        );
      }
      const base = sides.baseline?.waited;
      results.push({
        id: route.id,
        label: route.label,
        sides,
        extraWaited: base !== undefined && sides.library ? sides.library.waited - base : undefined,
        extraWaitedSerial:
          base !== undefined && sides.librarySerial ? sides.librarySerial.waited - base : undefined,
      });
    }
  } finally {
    proxy.delayMs = 0;
  }
  return results;
}
