/** What one `npm run bench` run does, from its command line. */
export interface BenchOptions {
  /** Small data and short rounds: a smoke run of a minute or two. */
  quick: boolean;
  /** Keep the benchmark databases (and the embedded server's data directory) at the end. */
  keep: boolean;
  /** Sections to run (default: all). */
  sections: Set<Section>;
  /** Where the JSON, the SVG and the Markdown tables go. */
  outDir: string;
  /** Whether to rewrite the generated block of BENCHMARKS.md (by default: a full run of every section). */
  updateReadme: boolean;
  sizes: BenchSizes;
}

export const SECTIONS = ['http', 'roundtrips', 'db', 'scale'] as const;
export type Section = (typeof SECTIONS)[number];
/** What `npm run bench` runs without --only: the four comparisons. */
export const DEFAULT_SECTIONS: Section[] = [...SECTIONS];

/** Data volumes and timings. */
export interface BenchSizes {
  /** Tenants in the main database. */
  tenants: number;
  /** The first `largeTenants` tenants hold `largeTickets` tickets each ... */
  largeTenants: number;
  largeTickets: number;
  /** ... and the rest share what is left of `totalTickets`, skewed (count ~ rank^-0.8). */
  totalTickets: number;
  /** Fewest tickets of any tenant. */
  minTickets: number;
  /** Reporting tree of the big sales tenant: a complete tree of this branching and depth. */
  treeBranching: number;
  treeDepth: number;
  /** Deals of the big sales tenant. */
  deals: number;
  accounts: number;
  /** Small sales tenants (13 members, `smallDeals` deals each) so deals are not single-tenant. */
  smallSalesTenants: number;
  smallDeals: number;
  /** Tenant counts of the scale comparison, and tickets per tenant added beyond the main set. */
  scaleTenants: [number, number, number];
  scaleExtraTickets: number;
  /** HTTP: connections, warm-up and round length (s), rounds per side. */
  connections: number;
  poolSize: number;
  warmupSeconds: number;
  roundSeconds: number;
  rounds: number;
  /** HTTP: rounds lengthen (up to the maximum) until the slowest side completes this many requests. */
  minRequestsPerRound: number;
  maxRoundSeconds: number;
  /** Database level: seconds per query pair, and warm-up iterations. */
  dbSeconds: number;
  dbWarmup: number;
  /** Round trips: sequential samples per delay, and the two proxy delays (ms). */
  rtSamples: number;
  rtDelays: [number, number];
}

export const FULL_SIZES: BenchSizes = {
  tenants: 1000,
  largeTenants: 5,
  largeTickets: 100_000,
  totalTickets: 1_000_000,
  minTickets: 20,
  treeBranching: 3,
  treeDepth: 8,
  deals: 100_000,
  accounts: 1_000,
  smallSalesTenants: 100,
  smallDeals: 100,
  scaleTenants: [10, 1000, 10_000],
  scaleExtraTickets: 50,
  connections: 16,
  poolSize: 10,
  warmupSeconds: 2,
  roundSeconds: 3,
  rounds: 7,
  minRequestsPerRound: 60,
  maxRoundSeconds: 12,
  dbSeconds: 5,
  dbWarmup: 50,
  rtSamples: 5,
  rtDelays: [10, 110],
};

export const QUICK_SIZES: BenchSizes = {
  tenants: 100,
  largeTenants: 5,
  largeTickets: 2_000,
  totalTickets: 20_000,
  minTickets: 5,
  treeBranching: 3,
  treeDepth: 6,
  deals: 10_000,
  accounts: 100,
  smallSalesTenants: 10,
  smallDeals: 20,
  scaleTenants: [10, 100, 1000],
  scaleExtraTickets: 10,
  connections: 16,
  poolSize: 10,
  warmupSeconds: 0.5,
  roundSeconds: 1.5,
  rounds: 2,
  minRequestsPerRound: 20,
  maxRoundSeconds: 3,
  dbSeconds: 1,
  dbWarmup: 10,
  rtSamples: 3,
  rtDelays: [5, 55],
};

const USAGE = `Usage: npm run bench -- [--quick] [--keep] [--only http,roundtrips,db,scale] [--out DIR]
  (default: every section: 20-25 minutes on 2 cores)
  --quick        small data, short rounds (smoke run, 3-4 minutes)
  --only LIST    run only these sections (data is always generated)
  --keep         keep the benchmark databases (and the embedded server's data) at the end
  --out DIR      where results go (default: bench/results for a full run, .data/bench-results for --quick)
  --rounds N     alternating rounds per comparison (default 7; 2 with --quick)
  --no-readme    do not rewrite the generated block of BENCHMARKS.md (a quick or partial run never does)
Environment: DATABASE_URL (a superuser URL) to use an existing server instead of an embedded one.`;

/** Parses `process.argv`-style arguments. */
export function parseOptions(argv: string[]): BenchOptions {
  const args = [...argv];
  let quick = false;
  let keep = false;
  let readme = true;
  let outDir: string | undefined;
  let rounds: number | undefined;
  let sections: Set<Section> | undefined;
  while (args.length) {
    const arg = args.shift()!;
    if (arg === '--quick') quick = true;
    else if (arg === '--keep') keep = true;
    else if (arg === '--no-readme') readme = false;
    else if (arg === '--out') outDir = args.shift();
    else if (arg === '--rounds') rounds = Number(args.shift());
    else if (arg === '--only') {
      const list = (args.shift() ?? '').split(',').filter(Boolean);
      const unknown = list.filter((s) => !(SECTIONS as readonly string[]).includes(s));
      if (!list.length || unknown.length) throw new Error(`--only: unknown section(s)\n${USAGE}`);
      sections = new Set(list as Section[]);
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  sections ??= new Set<Section>(DEFAULT_SECTIONS);
  const standard = DEFAULT_SECTIONS.every((s) => sections.has(s));
  return {
    quick,
    keep,
    sections,
    outDir: outDir ?? (quick ? '.data/bench-results' : 'bench/results'),
    updateReadme: readme && !quick && standard,
    sizes: { ...(quick ? QUICK_SIZES : FULL_SIZES), ...(rounds ? { rounds } : {}) },
  };
}
