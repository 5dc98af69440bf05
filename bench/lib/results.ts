import { DbQueryResult, DbSideResult } from './db-level';
import { HttpRouteResult, HttpSideResult, SideRatios } from './http';
import type { PatchName } from './patches';
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

/** Candidate library changes measured on one route. */
export interface ExperimentResult {
  route: string;
  rows: {
    side: string;
    label: string;
    patches: PatchName[];
    /** The side this one is compared with. */
    vs?: string;
    result: HttpSideResult;
    ratios?: SideRatios;
  }[];
}

/** One target of the issue, checked. */
export interface TargetCheck {
  section: 'http' | 'roundtrips' | 'db' | 'scale';
  target: string;
  value: number;
  limit: string;
  met: boolean;
  /** The stricter aim (0.95 throughput, 0 extra round trips), where the issue names one. */
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
  experiments?: ExperimentResult[];
  /** 1-minute load average at the start and end of each section (other work shows here). */
  loadAverage: Record<string, [number, number]>;
  targets: TargetCheck[];
}

/** Checks every target the issue names against the results. */
export function checkTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const h of r.http) {
    out.push({
      section: 'http',
      target: `${h.label}: throughput library / baseline`,
      value: h.ratios.throughput,
      limit: '>= 0.90 (aim 0.95)',
      met: h.ratios.throughput >= 0.9,
      aimMet: h.ratios.throughput >= 0.95,
    });
    out.push({
      section: 'http',
      target: `${h.label}: p99 library / baseline`,
      value: h.ratios.p99,
      limit: '<= 1.15',
      met: h.ratios.p99 <= 1.15,
    });
  }
  for (const t of r.roundTrips) {
    const lib = t.sides.library;
    if (!lib) continue;
    if (t.id === 'no-query') {
      out.push({
        section: 'roundtrips',
        target: `${t.label}: statements and waited round trips (library)`,
        value: lib.statements.length + lib.waited,
        limit: '= 0',
        met: lib.statements.length === 0 && lib.waited === 0,
      });
    } else if (t.extraWaited !== undefined) {
      out.push({
        section: 'roundtrips',
        target: `${t.label}: waited round trips beyond the baseline's`,
        value: t.extraWaited,
        limit: '<= 1 (aim 0)',
        met: t.extraWaited <= 1,
        aimMet: t.extraWaited <= 0,
      });
    }
  }
  for (const q of r.db) {
    out.push({
      section: 'db',
      target: `${q.label}: RLS / explicit WHERE (median)`,
      value: q.ratios.median,
      limit: '<= 1.10',
      met: q.ratios.median <= 1.1,
    });
  }
  if (r.scale) {
    const lib = r.scale.ratios.library;
    const [first, last] = [r.scale.points[0], r.scale.points[r.scale.points.length - 1]];
    out.push({
      section: 'scale',
      target: `${r.scale.route} p50 latency at ${last.tenants.toLocaleString('en')} / at ${first.tenants.toLocaleString('en')} tenants (library)`,
      value: lib.p50,
      limit: '<= 1.10',
      met: lib.p50 <= 1.1,
    });
    if (r.scale.database) {
      out.push({
        section: 'scale',
        target: `the page query as support-api sends it, under RLS, at ${last.tenants.toLocaleString('en')} / at ${first.tenants.toLocaleString('en')} tenants (database level, median)`,
        value: r.scale.database.ratio,
        limit: '<= 1.10',
        met: r.scale.database.ratio <= 1.1,
      });
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
