import { randomBytes } from 'node:crypto';
import { signToken } from '@app/demo-kit';
import type { AppSpec } from './app-process';
import { agentOf, sampleTicketIds } from './data';
import { BENCH_TENANTS, tenantId } from './ids';
import { LoadRequest } from './load';
import { QUICK_SIZES } from './options';
import { BenchEnvironment, setUpEnvironment } from './setup';

/** Reads `--name value` flags of a bench script's command line. */
export function flagReader(
  args = process.argv.slice(2),
): (name: string, fallback: string) => string {
  return (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
}

/** Runs a bench script's `main` and exits 0, or 1 after printing its error. */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * The requests of the quick scripts: `GET path` when one is given, else `GET /tickets/:id` over 200
 * tickets of the support read tenant (small data), with the given authorization header.
 */
export function supportReadRequests(authorization: string, path = ''): LoadRequest[] {
  const headers = { authorization };
  if (path) return [{ method: 'GET', path, headers }];
  return sampleTicketIds(QUICK_SIZES, BENCH_TENANTS.supportRead, 200).map((id) => ({
    method: 'GET' as const,
    path: `/tickets/${id}`,
    headers,
  }));
}

/** The authorization header of the support read tenant's agent, whose token the quick scripts send. */
export function supportReaderAuth(secret: string): string {
  const tenant = BENCH_TENANTS.supportRead;
  return `Bearer ${signToken(secret, { tenantId: tenantId(tenant), userId: agentOf(tenant), role: 'agent' })}`;
}

/** What a quick comparison of the support app runs: small data, its requests and both sides. */
export interface QuickComparison {
  env: BenchEnvironment;
  requests: LoadRequest[];
  baseline: AppSpec;
  /** The support app as the benchmark runs it (pipeline mode). */
  library: AppSpec;
}

/**
 * The extra sides of a quick comparison, on request, never a target's baseline: `--with-cls`, the
 * baseline with nestjs-cls's middleware mounted as the library mounts it; `--with-rls`, the
 * baseline's ticket routes under RLS by hand (a transaction with the settings per request, as the
 * app role); both flags, also the two together.
 */
export function extraBaselines({ baseline, library }: QuickComparison): [string, AppSpec][] {
  const cls = process.argv.includes('--with-cls');
  const rls = process.argv.includes('--with-rls');
  const underRls: AppSpec = { ...baseline, rls: true, databaseUrl: library.databaseUrl };
  return [
    ...(cls ? [['baseline+cls', { ...baseline, cls: true }] as [string, AppSpec]] : []),
    ...(rls ? [['baseline+rls', underRls] as [string, AppSpec]] : []),
    ...(cls && rls ? [['baseline+cls+rls', { ...underRls, cls: true }] as [string, AppSpec]] : []),
  ];
}

/** Sets up the quick scripts' comparison of `GET path` (default `GET /tickets/:id`). */
export async function quickSupportComparison(path: string): Promise<QuickComparison> {
  const env = await setUpEnvironment(QUICK_SIZES, false, (m) => console.log(m));
  const secret = randomBytes(32).toString('hex');
  const common = { jwtSecret: secret, poolSize: 10 };
  return {
    env,
    requests: supportReadRequests(supportReaderAuth(secret), path),
    baseline: { ...common, kind: 'baseline', databaseUrl: env.main.baselineUrl },
    library: { ...common, kind: 'support', databaseUrl: env.main.appUrl, pipeline: true },
  };
}
