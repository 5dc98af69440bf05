import { DbQueryResult, DbSideResult } from './db-level';
import { HttpRouteResult, HttpSideResult } from './http';
import { MachineInfo } from './machine';
import { BenchSizes } from './options';
import { RoundTripResult } from './roundtrips';
import { round } from './stats';

/** GET /tickets?limit=50 of the same tenant with more and more tenants in the table. */
export interface ScalePoint {
  tenants: number;
  tickets: number;
  database: string;
  sides: Record<string, HttpSideResult>;
}

export interface ScaleResult {
  route: string;
  points: ScalePoint[];
  /** Largest over smallest tenant count, per side. */
  ratios: Record<string, { p50: number; p99: number; throughput: number }>;
  /** The page query as support-api sends it, under RLS, per tenant count, and largest / smallest (median). */
  database?: { perTenants: Record<string, DbSideResult>; ratio: number };
}

/** One target of the issue, checked. */
export interface TargetCheck {
  section: 'http' | 'roundtrips' | 'db' | 'scale';
  /** What is measured (a route, a query) and what is checked on it; `target` joins the two. */
  subject: string;
  what: string;
  target: string;
  /** HTTP only: which of the route's four targets. */
  metric?: HttpMetric;
  value: number;
  limit: string;
  met: boolean;
  /** The stricter aim (0.95 throughput on the lookup, 0 extra round trips), where the issue names one. */
  aimMet?: boolean;
}

export interface BenchResults {
  kind: 'full' | 'quick';
  date: string;
  durationSeconds: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  postgres: { source: string; version: string };
  data: {
    tenants: number;
    tickets: number;
    largeTenants: string;
    deals: number;
    tree: {
      members: number;
      depth: number;
      branching: number;
      managerBelow: number;
      teamLeadBelow: number;
    };
    loadSeconds: number;
  };
  sizes: BenchSizes;
  http: HttpRouteResult[];
  roundTrips: RoundTripResult[];
  db: DbQueryResult[];
  scale?: ScaleResult;
  /** 1-minute load average at the start and end of each section (other work shows here). */
  loadAverage: Record<string, [number, number]>;
  targets: TargetCheck[];
}

export type HttpMetric = 'throughput' | 'p99' | 'appCpu' | 'pgCpu';

/** The HTTP limits per route id: least throughput ratio (and aim), against the baseline. */
export const HTTP_THROUGHPUT_TARGETS: Record<string, { min: number; aim?: number }> = {
  'get-ticket': { min: 0.85, aim: 0.95 },
  'list-tickets': { min: 0.9 },
  'create-ticket': { min: 0.95 },
  'deals-manager': { min: 0.9 },
  'deals-lead': { min: 0.9 },
};
/** Most p99 ratio, and most CPU per request (µs) above the baseline's, on every HTTP route. */
export const HTTP_P99_MAX = 1.15;
export const HTTP_APP_CPU_MAX_US = 120;
export const HTTP_PG_CPU_MAX_US = 80;

/** Checks every target the issue names against the results (HTTP: against the baseline). */
export function checkTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const check = (
    section: TargetCheck['section'],
    subject: string,
    what: string,
    value: number,
    limit: string,
    met: boolean,
    more: Pick<TargetCheck, 'metric' | 'aimMet'> = {},
  ) =>
    out.push({ section, subject, what, target: `${subject}: ${what}`, value, limit, met, ...more });
  for (const h of r.http) {
    const lib = h.sides.library!;
    const base = h.sides.baseline!;
    const { min, aim } = HTTP_THROUGHPUT_TARGETS[h.id] ?? { min: 0.9 };
    const tp = h.ratios.throughput;
    check(
      'http',
      h.label,
      'throughput library / baseline',
      tp,
      `>= ${min.toFixed(2)}${aim ? `, aim ${aim.toFixed(2)}` : ''}`,
      tp >= min,
      {
        metric: 'throughput',
        aimMet: aim === undefined ? undefined : tp >= aim,
      },
    );
    const p99 = h.ratios.p99;
    check(
      'http',
      h.label,
      'p99 library / baseline',
      p99,
      `<= ${HTTP_P99_MAX}`,
      p99 <= HTTP_P99_MAX,
      { metric: 'p99' },
    );
    const app = lib.appCpuUs - base.appCpuUs;
    check(
      'http',
      h.label,
      'app CPU µs per request over the baseline',
      app,
      `<= +${HTTP_APP_CPU_MAX_US}`,
      app <= HTTP_APP_CPU_MAX_US,
      { metric: 'appCpu' },
    );
    if (lib.pgCpuUs !== undefined && base.pgCpuUs !== undefined) {
      const pg = lib.pgCpuUs - base.pgCpuUs;
      check(
        'http',
        h.label,
        'PostgreSQL CPU µs per request over the baseline',
        pg,
        `<= +${HTTP_PG_CPU_MAX_US}`,
        pg <= HTTP_PG_CPU_MAX_US,
        { metric: 'pgCpu' },
      );
    }
  }
  for (const t of r.roundTrips) {
    const lib = t.sides.library;
    if (!lib) continue;
    if (t.id === 'no-query') {
      const n = lib.statements.length + lib.waited;
      check(
        'roundtrips',
        t.label,
        'statements and waited round trips (library)',
        n,
        '= 0',
        n === 0,
      );
    } else if (t.extraWaited !== undefined) {
      const x = t.extraWaited;
      check(
        'roundtrips',
        t.label,
        "waited round trips beyond the baseline's",
        x,
        '<= 1 (aim 0)',
        x <= 1,
        { aimMet: x <= 0 },
      );
    }
  }
  for (const q of r.db) {
    const x = q.ratios.median;
    check('db', q.label, 'RLS / explicit WHERE (median)', x, '<= 1.10', x <= 1.1);
  }
  if (r.scale) {
    const [first, last] = [r.scale.points[0], r.scale.points[r.scale.points.length - 1]];
    const at = `at ${last.tenants.toLocaleString('en')} / at ${first.tenants.toLocaleString('en')} tenants`;
    const p50 = r.scale.ratios.library.p50;
    check('scale', r.scale.route, `p50 latency ${at} (library)`, p50, '<= 1.10', p50 <= 1.1);
    if (r.scale.database) {
      const x = r.scale.database.ratio;
      check(
        'scale',
        'the page query as support-api sends it, under RLS',
        `${at} (database level, median)`,
        x,
        '<= 1.10',
        x <= 1.1,
      );
    }
  }
  return out;
}

/** Ratios between the last and first scale points. */
export function scaleRatios(points: ScalePoint[]): ScaleResult['ratios'] {
  const first = points[0];
  const last = points[points.length - 1];
  const out: ScaleResult['ratios'] = {};
  for (const side of Object.keys(first.sides)) {
    out[side] = {
      p50: round(last.sides[side].p50 / first.sides[side].p50),
      p99: round(last.sides[side].p99 / first.sides[side].p99),
      throughput: round(last.sides[side].rps / first.sides[side].rps),
    };
  }
  return out;
}
