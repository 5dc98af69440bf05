import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { QueryConfig } from 'pg';
import { signToken } from '@app/demo-kit';
import { AppProcess, AppSpec, closeAll, startAll } from './lib/app-process';
import { agentOf, sampleTicketIds, TICKET_COLUMNS, ticketCount } from './lib/data';
import { compareAcrossDatabases, compareQueries, DbQueryPair } from './lib/db-level';
import { hierarchyPair } from './lib/hierarchy-pair';
import { round } from './lib/stats';
import { DelayProxy } from './lib/delay-proxy';
import { compareRoute, compareSides, HttpRoute, HttpRouteResult } from './lib/http';
import { BENCH_TENANTS, tenantId } from './lib/ids';
import { LoadRequest } from './lib/load';
import { machineInfo, packageVersions } from './lib/machine';
import { BenchOptions, DEFAULT_SECTIONS, parseOptions, Section } from './lib/options';
import { PgCpuMeter } from './lib/pg-cpu';
import { ratioChart, resultsMarkdown } from './lib/report';
import { BenchResults, checkTargets, ScalePoint, ScaleResult, scaleRatios } from './lib/results';
import { countRoundTrips, RoundTripResult, RoundTripRoute } from './lib/roundtrips';
import { BenchDatabase, BenchEnvironment, setUpEnvironment } from './lib/setup';

const started = Date.now();
const log = (message: string) => {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${s}s] ${message}`);
};

/**
 * The apps of one database, each in its own process: the library apps (pipelined and serial), the
 * baseline (its JWT key built once, as the library's: equal footing) and, for the HTTP section,
 * the naive baseline (its JWT secret a string, re-parsed per verify).
 */
type AppSet = Record<
  'support' | 'supportSerial' | 'sales' | 'salesSerial' | 'baseline',
  AppProcess
> &
  Partial<Record<'baselineNaive', AppProcess>>;

async function startApps(
  appUrl: string,
  baselineUrl: string,
  jwtSecret: string,
  poolSize: number,
  extra: Partial<AppSpec> = {},
  naive = false,
): Promise<AppSet> {
  const lib = { databaseUrl: appUrl, jwtSecret, poolSize, ...extra };
  const baseline: AppSpec = {
    ...extra,
    kind: 'baseline',
    databaseUrl: baselineUrl,
    jwtSecret,
    poolSize,
  };
  const apps = await startAll({
    support: { ...lib, kind: 'support', pipeline: true },
    supportSerial: { ...lib, kind: 'support', pipeline: false },
    sales: { ...lib, kind: 'sales', pipeline: true },
    salesSerial: { ...lib, kind: 'sales', pipeline: false },
    baseline,
    ...(naive ? { baselineNaive: { ...baseline, naiveJwt: true } } : {}),
  });
  return apps as AppSet;
}

/** Tokens and request lists of the benchmarked routes. */
function scenario(env: BenchEnvironment, opts: BenchOptions, jwtSecret: string) {
  const sizes = opts.sizes;
  const read = BENCH_TENANTS.supportRead;
  const write = BENCH_TENANTS.supportWrite;
  const token = (tenant: number, userId: string, role: string) =>
    `Bearer ${signToken(jwtSecret, { tenantId: tenantId(tenant), userId, role })}`;
  const agent = token(read, agentOf(read), 'agent');
  const writer = token(write, agentOf(write), 'agent');
  const manager = token(BENCH_TENANTS.sales, env.tree.manager.userId, 'manager');
  const lead = token(BENCH_TENANTS.sales, env.tree.teamLead.userId, 'manager');
  const ids = sampleTicketIds(sizes, read, 200);
  const get = (path: string, auth: string): LoadRequest => ({
    method: 'GET',
    path,
    headers: { authorization: auth },
  });
  // Distinct bodies, cycled (autocannon's [<id>] replacement miscounts Content-Length in v8).
  const posts: LoadRequest[] = Array.from({ length: 500 }, (_, k) => ({
    method: 'POST',
    path: '/tickets',
    headers: { authorization: writer, 'content-type': 'application/json' },
    body: JSON.stringify({
      subject: `Bench ticket ${k} ${randomBytes(4).toString('hex')}`,
      description: 'Opened by the benchmark',
      priority: 'high',
    }),
  }));
  const t = env.tree;
  return {
    agent,
    ids,
    routes: [
      {
        id: 'get-ticket',
        label: 'GET /tickets/:id',
        app: 'support' as const,
        requests: ids.map((id) => get(`/tickets/${id}`, agent)),
      },
      {
        id: 'list-tickets',
        label: 'GET /tickets?limit=50',
        app: 'support' as const,
        requests: [get('/tickets?limit=50', agent)],
      },
      {
        id: 'create-ticket',
        label: 'POST /tickets',
        app: 'support' as const,
        requests: posts,
      },
      {
        id: 'deals-manager',
        label: `GET /deals?limit=50 as a manager (${t.manager.below.toLocaleString('en')} below)`,
        app: 'sales' as const,
        requests: [get('/deals?limit=50', manager)],
      },
      {
        id: 'deals-lead',
        label: `GET /deals?limit=50 as a team lead (${t.teamLead.below} below)`,
        app: 'sales' as const,
        requests: [get('/deals?limit=50', lead)],
      },
    ],
    /** A fresh tenant per call (status not cached yet): tenants from 20 up, agents of their own. */
    coldTenant: (k: number) => {
      const tenant = 20 + (k % (sizes.tenants - 20));
      return token(tenant, agentOf(tenant), 'agent');
    },
  };
}

type Scenario = ReturnType<typeof scenario>;

/** Both sides must answer the same JSON: the baseline is the same API written by hand. */
async function checkSameAnswers(apps: AppSet, s: Scenario): Promise<void> {
  const body = async (base: string, req: LoadRequest) => {
    const res = await fetch(base + req.path, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  for (const route of s.routes) {
    const req = route.requests[0];
    const lib = await body((route.app === 'support' ? apps.support : apps.sales).url, req);
    const base = await body(apps.baseline.url, req);
    if (lib.status !== base.status) {
      throw new Error(`${route.label}: library ${lib.status}, baseline ${base.status}`);
    }
    if (req.method === 'GET') {
      if (JSON.stringify(lib.json) !== JSON.stringify(base.json)) {
        throw new Error(
          `${route.label}: the baseline answers different JSON than the library:\n${JSON.stringify(lib.json).slice(0, 400)}\n${JSON.stringify(base.json).slice(0, 400)}`,
        );
      }
    } else {
      const keys = (o: Record<string, unknown>) => Object.keys(o).sort().join(',');
      if (keys(lib.json) !== keys(base.json)) {
        throw new Error(`${route.label}: the baseline answers another shape than the library`);
      }
    }
  }
}

async function httpSection(
  apps: AppSet,
  s: Scenario,
  opts: BenchOptions,
  pgCpu: PgCpuMeter | undefined,
) {
  const out: HttpRouteResult[] = [];
  for (const route of s.routes) {
    log(`HTTP ${route.label}`);
    const spec: HttpRoute = {
      id: route.id,
      label: route.label,
      requests: route.requests,
      sides: {
        library: route.app === 'support' ? apps.support : apps.sales,
        baseline: apps.baseline,
        librarySerial: route.app === 'support' ? apps.supportSerial : apps.salesSerial,
        baselineNaive: apps.baselineNaive,
      },
    };
    const result = await compareRoute(spec, opts.sizes, pgCpu, log);
    log(
      `  => throughput ratio ${result.ratios.throughput}, p99 ratio ${result.ratios.p99} (serial: ${result.serialRatios?.throughput}, ${result.serialRatios?.p99}; naive baseline: ${result.naiveRatios?.throughput}, ${result.naiveRatios?.p99})`,
    );
    out.push(result);
  }
  return out;
}

async function roundTripSection(
  env: BenchEnvironment,
  s: Scenario,
  opts: BenchOptions,
  jwtSecret: string,
): Promise<RoundTripResult[]> {
  const target = new URL(env.main.appUrl);
  const proxy = new DelayProxy(target.hostname, Number(target.port || 5432));
  const port = await proxy.listen();
  const via = (url: string) => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };
  const apps = await startApps(
    via(env.main.appUrl),
    via(env.main.baselineUrl),
    jwtSecret,
    opts.sizes.poolSize,
    { tenantStatusTtlMs: 600_000, countStatements: true },
  );
  try {
    const sidesOf = (app: 'support' | 'sales') => ({
      baseline: apps.baseline,
      library: app === 'support' ? apps.support : apps.sales,
      librarySerial: app === 'support' ? apps.supportSerial : apps.salesSerial,
    });
    const routes: RoundTripRoute[] = s.routes.map((r) => ({
      id: r.id,
      label: r.label,
      request: (k: number) => r.requests[k % r.requests.length],
      expectStatus: r.requests[0].method === 'POST' ? 201 : 200,
      sides: sidesOf(r.app),
    }));
    routes.push({
      id: 'no-query',
      label: 'GET /tickets/not-a-uuid (400 before any query)',
      request: () => ({
        method: 'GET',
        path: '/tickets/not-a-uuid',
        headers: { authorization: s.agent },
      }),
      expectStatus: 400,
      sides: sidesOf('support'),
    });
    routes.push({
      id: 'cold-status',
      label: 'GET /tickets?limit=50, first request of a tenant (status not cached)',
      request: (k: number) => ({
        method: 'GET',
        path: '/tickets?limit=50',
        headers: { authorization: s.coldTenant(k) },
      }),
      expectStatus: 200,
      sides: { library: apps.support, librarySerial: apps.supportSerial },
    });
    log('Round trips (one request at a time, through the delay proxy)');
    return await countRoundTrips(
      routes,
      proxy,
      { samples: opts.sizes.rtSamples, delays: opts.sizes.rtDelays },
      log,
    );
  } finally {
    await closeAll(apps);
    await proxy.close();
  }
}

/** The 50-row page (plus one, for the cursor) as support-api sends it: the tenant named too. */
const namedPage = (tenant: string): QueryConfig => ({
  text: `SELECT ${TICKET_COLUMNS} FROM support.tickets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51`,
  values: [tenant],
});
function dbPairs(env: BenchEnvironment, s: Scenario, opts: BenchOptions): DbQueryPair[] {
  const read = BENCH_TENANTS.supportRead;
  const tenant = tenantId(read);
  const agent = { tenantId: tenant, userId: agentOf(read), role: 'agent' };
  const sales = tenantId(BENCH_TENANTS.sales);
  const hierarchy = (who: 'manager' | 'teamLead', label: string, page = false): DbQueryPair =>
    hierarchyPair(`hierarchy-${who}${page ? '-page' : ''}`, label, sales, env.tree[who], page);
  const large = ticketCount(opts.sizes, read).toLocaleString('en');
  return [
    {
      id: 'lookup',
      label: 'ticket by id (indexed lookup)',
      context: agent,
      rls: (k) => ({
        text: `SELECT ${TICKET_COLUMNS} FROM support.tickets WHERE id = $1`,
        values: [s.ids[k % s.ids.length]],
      }),
      explicit: (k) => ({
        text: `SELECT ${TICKET_COLUMNS} FROM support.tickets WHERE tenant_id = $1 AND id = $2`,
        values: [tenant, s.ids[k % s.ids.length]],
      }),
    },
    {
      id: 'page',
      label: '50-row page, newest first (the policy alone names the tenant)',
      context: agent,
      rls: () => ({
        text: `SELECT ${TICKET_COLUMNS} FROM support.tickets ORDER BY created_at DESC, id DESC LIMIT 51`,
      }),
      explicit: () => namedPage(tenant),
    },
    {
      id: 'page-named',
      label: '50-row page, the tenant also named in the query (as support-api sends it)',
      context: agent,
      rls: () => namedPage(tenant),
      explicit: () => namedPage(tenant),
    },
    {
      id: 'count',
      label: `count of a tenant's tickets (${large})`,
      context: agent,
      rls: () => ({ text: `SELECT count(*) FROM support.tickets` }),
      explicit: () => ({
        text: `SELECT count(*) FROM support.tickets WHERE tenant_id = $1`,
        values: [tenant],
      }),
    },
    hierarchy(
      'manager',
      `hierarchy: a manager's deals (${env.tree.manager.below.toLocaleString('en')} people below)`,
    ),
    hierarchy(
      'teamLead',
      `hierarchy: a team lead's deals (${env.tree.teamLead.below} people below)`,
    ),
    hierarchy(
      'manager',
      `hierarchy: a manager's first 50 deals, as GET /deals sends it (${env.tree.manager.below.toLocaleString('en')} people below)`,
      true,
    ),
    hierarchy(
      'teamLead',
      `hierarchy: a team lead's first 50 deals, as GET /deals sends it (${env.tree.teamLead.below} people below)`,
      true,
    ),
  ];
}

async function scaleSection(
  env: BenchEnvironment,
  s: Scenario,
  opts: BenchOptions,
  jwtSecret: string,
  pgCpu: PgCpuMeter | undefined,
): Promise<ScaleResult> {
  const dbs = [...env.scale.entries()].sort(([a], [b]) => a - b);
  const specs: Record<string, AppSpec> = {};
  for (const [tenants, db] of dbs) {
    const common = { jwtSecret, poolSize: opts.sizes.poolSize };
    specs[`library@${tenants}`] = { ...common, kind: 'support', databaseUrl: db.appUrl };
    specs[`baseline@${tenants}`] = { ...common, kind: 'baseline', databaseUrl: db.baselineUrl };
  }
  const apps = await startAll(specs);
  try {
    log(`Scale: GET /tickets?limit=50 with ${dbs.map(([n]) => n).join(', ')} tenants`);
    const sides = await compareSides(
      'scale',
      [{ method: 'GET', path: '/tickets?limit=50', headers: { authorization: s.agent } }],
      apps,
      {
        ...opts.sizes,
        rounds: Math.max(2, opts.sizes.rounds - 1),
        roundSeconds: Math.min(3, opts.sizes.roundSeconds),
      },
      pgCpu,
      log,
    );
    const points: ScalePoint[] = dbs.map(([tenants, db]: [number, BenchDatabase]) => ({
      tenants,
      tickets: db.tickets,
      database: db.database,
      sides: { library: sides[`library@${tenants}`], baseline: sides[`baseline@${tenants}`] },
    }));
    const ratios = scaleRatios(points);
    log(`  => library p50 ratio ${ratios.library.p50}, baseline ${ratios.baseline.p50}`);
    const read = BENCH_TENANTS.supportRead;
    const db = await compareAcrossDatabases(
      Object.fromEntries(dbs.map(([n, d]) => [String(n), d.appUrl])),
      namedPage(tenantId(read)),
      { tenantId: tenantId(read), userId: agentOf(read), role: 'agent' },
      { seconds: opts.sizes.dbSeconds, warmup: opts.sizes.dbWarmup },
    );
    const first = db[String(dbs[0][0])];
    const last = db[String(dbs[dbs.length - 1][0])];
    const dbRatio = round(last.median / first.median);
    log(
      `  database level (the page query as support-api sends it, under RLS): ${dbs.map(([n]) => `${n}: ${db[String(n)].median} ms`).join(', ')} => ratio ${dbRatio}`,
    );
    return {
      route: 'GET /tickets?limit=50',
      points,
      ratios,
      database: { perTenants: db, ratio: dbRatio },
    };
  } finally {
    await closeAll(apps);
  }
}

/** Rewrites the generated block of BENCHMARKS.md (between its markers). */
function updateReadme(markdown: string): boolean {
  const path = resolve('BENCHMARKS.md');
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const startMark = '<!-- bench:results:start -->';
  const endMark = '<!-- bench:results:end -->';
  const a = text.indexOf(startMark);
  const b = text.indexOf(endMark);
  if (a < 0 || b < a) return false;
  writeFileSync(path, `${text.slice(0, a + startMark.length)}\n\n${markdown}\n${text.slice(b)}`);
  return true;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const sizes = opts.sizes;
  log(
    `nestjs-rls-tenancy benchmark (${opts.quick ? 'quick' : 'full'}): ${[...opts.sections].join(', ')}`,
  );
  const env = await setUpEnvironment(sizes, opts.sections.has('scale'), log);
  const jwtSecret = randomBytes(32).toString('hex');
  const s = scenario(env, opts, jwtSecret);
  const pgCpu = await PgCpuMeter.open(env.server.adminUrl).catch(() => undefined);
  if (!pgCpu) log('PostgreSQL CPU is not measurable here (not a local server): app CPU only');
  let failed: Error | undefined;
  const partial: Omit<BenchResults, 'targets' | 'durationSeconds'> = {
    kind: opts.quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: machineInfo(),
    versions: packageVersions(),
    postgres: {
      source: process.env.DATABASE_URL?.trim() ? 'DATABASE_URL' : 'embedded',
      version: env.serverVersion,
    },
    data: {
      tenants: env.main.tenants,
      tickets: env.main.tickets,
      largeTenants: `${sizes.largeTenants} tenants with ${sizes.largeTickets.toLocaleString('en')} each, the rest skewed from ${ticketCount(sizes, sizes.largeTenants + 1).toLocaleString('en')} down to ${ticketCount(sizes, sizes.tenants).toLocaleString('en')}`,
      deals: sizes.deals,
      tree: {
        members: env.tree.members,
        depth: env.tree.depth,
        branching: env.tree.branching,
        managerBelow: env.tree.manager.below,
        teamLeadBelow: env.tree.teamLead.below,
      },
      loadSeconds: env.loadSeconds,
    },
    sizes,
    http: [],
    roundTrips: [],
    db: [],
    loadAverage: {},
  };
  const section = async (name: Section, fn: () => Promise<void>) => {
    if (!opts.sections.has(name)) return;
    const before = loadavg()[0];
    await fn();
    partial.loadAverage[name] = [round(before, 2), round(loadavg()[0], 2)];
  };
  try {
    await section('http', async () => {
      const apps = await startApps(
        env.main.appUrl,
        env.main.baselineUrl,
        jwtSecret,
        sizes.poolSize,
        {},
        true,
      );
      try {
        await checkSameAnswers(apps, s);
        log('Library and baseline answer the same JSON on every route');
        partial.http = await httpSection(apps, s, opts, pgCpu);
      } finally {
        await closeAll(apps);
      }
    });
    await section('roundtrips', async () => {
      partial.roundTrips = await roundTripSection(env, s, opts, jwtSecret);
    });
    await section('db', async () => {
      log('Database level: RLS vs explicit WHERE');
      partial.db = await compareQueries(
        env.main.appUrl,
        env.main.baselineUrl,
        dbPairs(env, s, opts),
        { seconds: sizes.dbSeconds, warmup: sizes.dbWarmup },
        log,
      );
    });
    await section('scale', async () => {
      partial.scale = await scaleSection(env, s, opts, jwtSecret, pgCpu);
    });
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
  } finally {
    await env.cleanup(opts.keep).catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
  }
  if (failed) throw failed;

  const results: BenchResults = {
    ...partial,
    durationSeconds: (Date.now() - started) / 1000,
    targets: [],
  };
  results.targets = checkTargets(results);
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const standard = DEFAULT_SECTIONS.every((x) => opts.sections.has(x));
  const base = `bench${opts.quick ? '-quick' : ''}${standard ? '' : `-${[...opts.sections].join('-')}`}`;
  const jsonPath = join(outDir, `${base}.json`);
  const chartPath = join(outDir, `${base}-ratios.svg`);
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  if (results.http.length) writeFileSync(chartPath, ratioChart(results));
  const markdown = resultsMarkdown(results, relative(process.cwd(), chartPath));
  writeFileSync(join(outDir, `${base}.md`), markdown + '\n');
  log(`Results: ${relative(process.cwd(), jsonPath)}, ${relative(process.cwd(), chartPath)}`);
  if (opts.updateReadme) {
    log(updateReadme(markdown) ? 'BENCHMARKS.md updated' : 'BENCHMARKS.md has no results markers');
  }
  const missed = results.targets.filter((t) => !t.met);
  console.log('\n' + markdown);
  log(missed.length ? `${missed.length} target(s) missed` : 'Every target met');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
