import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { signToken } from '@app/demo-kit';
import { AppProcess, AppSpec } from './lib/app-process';
import { largestDifferences, ProfileSummary } from './lib/cpu-profile';
import { salesTree } from './lib/data';
import { BENCH_TENANTS, tenantId } from './lib/ids';
import { runLoad } from './lib/load';
import { QUICK_SIZES } from './lib/options';
import { flagReader, runScript, supportReadRequests, supportReaderAuth } from './lib/script';
import { setUpEnvironment } from './lib/setup';

/**
 * Where the Node side of a request spends its CPU: profiles the support app (library, pipelined
 * and serial) and the baseline (its JWT key built once), each in its own process, under the same autocannon load of
 * `GET /tickets/:id` (or `--path`), and prints self time per module and the top functions, per
 * request, then the functions whose self time grew most from the baseline to the library.
 *
 *   npx ts-node -r tsconfig-paths/register bench/profile.ts [--seconds 10] [--path /tickets?limit=50]
 *     [--as teamLead|manager]          (sales-api GET /deals as that manager instead)
 *
 * The .cpuprofile files go to .data/bench-profiles/ (open them in Chrome DevTools).
 */

async function main(): Promise<void> {
  const arg = flagReader();
  const seconds = Number(arg('--seconds', '10'));
  const path = arg('--path', '');
  const env = await setUpEnvironment(QUICK_SIZES, false, (m) => console.log(m));
  const secret = randomBytes(32).toString('hex');
  const sales = arg('--as', '') as '' | 'manager' | 'teamLead';
  const tree = salesTree(QUICK_SIZES);
  const auth = sales
    ? `Bearer ${signToken(secret, { tenantId: tenantId(BENCH_TENANTS.sales), userId: tree[sales].userId, role: 'manager' })}`
    : supportReaderAuth(secret);
  const requests = sales
    ? [{ method: 'GET' as const, path: '/deals', headers: { authorization: auth } }]
    : supportReadRequests(auth, path);
  const outDir = resolve('.data/bench-profiles');
  mkdirSync(outDir, { recursive: true });
  const common = { jwtSecret: secret, poolSize: 10 };
  const sides: Record<string, AppSpec> = {
    baseline: { ...common, kind: 'baseline', databaseUrl: env.main.baselineUrl },
    library: {
      ...common,
      kind: sales ? 'sales' : 'support',
      databaseUrl: env.main.appUrl,
      pipeline: true,
    },
    'library-serial': {
      ...common,
      kind: sales ? 'sales' : 'support',
      databaseUrl: env.main.appUrl,
      pipeline: false,
    },
  };
  const summaries: Record<string, ProfileSummary> = {};
  try {
    for (const [name, spec] of Object.entries(sides)) {
      const app = await AppProcess.start(name, spec);
      try {
        await runLoad({ url: app.url, connections: 16, seconds: 3, requests });
        await app.send({ type: 'profile-start' });
        const load = await runLoad({ url: app.url, connections: 16, seconds, requests });
        const file = join(outDir, `${name}.cpuprofile`);
        const { profile } = await app.send({ type: 'profile-stop', file, requests: load.ok });
        const s = profile!;
        summaries[name] = s;
        console.log(
          `\n== ${name}: ${load.ok} requests (${load.rps.toFixed(0)}/s, ${load.non2xx} non-2xx), app process busy ${s.busyUsPerRequest} µs per request (${file})`,
        );
        console.log('  self time by module (µs per request):');
        for (const [m, us] of s.modules) console.log(`    ${String(us).padStart(5)}  ${m}`);
        console.log('  top functions (self µs per request):');
        for (const [f, us] of s.functions) console.log(`    ${String(us).padStart(5)}  ${f}`);
      } finally {
        await app.close();
      }
    }
    // Where the library's extra time goes: the same code runs slower in a busier process too
    // (shared cores), so read the library's own functions and the ones only it calls first.
    console.log(
      '\n== largest differences, library − baseline (self µs per request: difference, baseline, library)',
    );
    for (const [fn, diff, a, b] of largestDifferences(summaries.baseline, summaries.library)) {
      console.log(
        `  ${diff.toFixed(1).padStart(7)} ${a.toFixed(1).padStart(7)} ${b.toFixed(1).padStart(7)}  ${fn}`,
      );
    }
  } finally {
    await env.cleanup(false);
  }
}

runScript(main);
