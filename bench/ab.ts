import { AppProcess } from './lib/app-process';
import { runLoad } from './lib/load';
import { PgCpuMeter } from './lib/pg-cpu';
import { extraBaselines, flagReader, quickSupportComparison, runScript } from './lib/script';
import { median, round } from './lib/stats';

/**
 * A quick A/B of one support-api route: the library app against the baseline (its JWT key built
 * once, as in `npm run bench`), and optionally against the library app of another checkout
 * (`--ref DIR`, e.g. a `git worktree` of the previous commit), alternating in rounds on small
 * generated data. For trying a library change in a few minutes; the full comparison is
 * `npm run bench`. `--with-cls` adds the baseline with nestjs-cls's middleware mounted as the
 * library mounts it and nothing else: the share of the gap that the CLS the library is built on
 * costs by itself; `--with-rls` adds the baseline's ticket routes under RLS by hand (a transaction
 * with the settings per request, as the app role): what RLS costs without the library.
 *
 *   npx ts-node -r tsconfig-paths/register bench/ab.ts [--rounds 6] [--seconds 3]
 *     [--path /tickets?limit=50] [--ref ../other-checkout] [--connections 16] [--with-cls] [--with-rls]
 */
async function main(): Promise<void> {
  const arg = flagReader();
  const rounds = Number(arg('--rounds', '6'));
  const seconds = Number(arg('--seconds', '3'));
  const connections = Number(arg('--connections', '16'));
  const path = arg('--path', '');
  const ref = arg('--ref', '');
  const comparison = await quickSupportComparison(path);
  const { env, requests, baseline, library } = comparison;
  const pgCpu = await PgCpuMeter.open(env.server.adminUrl).catch(() => undefined);
  const apps: Record<string, AppProcess> = {};
  try {
    apps.baseline = await AppProcess.start('baseline', baseline);
    for (const [name, spec] of extraBaselines(comparison))
      apps[name] = await AppProcess.start(name, spec);
    apps.library = await AppProcess.start('library', library);
    if (ref) apps.ref = await AppProcess.start('ref', library, ref);
    const names = Object.keys(apps);
    for (const name of names)
      await runLoad({ url: apps[name].url, connections, seconds: 2, requests });
    const rps: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const pg: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const got: Record<string, number> = {};
      for (const name of order) {
        const cpu0 = await apps[name].cpu();
        const pg0 = pgCpu?.sample();
        const load = await runLoad({ url: apps[name].url, connections, seconds, requests });
        cpu[name].push(((await apps[name].cpu()) - cpu0) / load.ok);
        if (pgCpu && pg0) pg[name].push(pgCpu.usedBetween(pg0, pgCpu.sample()) / load.ok);
        if (load.non2xx || load.errors)
          throw new Error(`${name}: ${load.non2xx} non-2xx, ${load.errors} errors`);
        got[name] = load.rps;
        rps[name].push(load.rps);
      }
      for (const name of names) ratios[name].push(got[name] / got.baseline);
      console.log(
        `round ${r + 1}: ${names.map((n) => `${n} ${got[n].toFixed(0)}/s (${(got[n] / got.baseline).toFixed(3)})`).join(', ')}`,
      );
    }
    for (const name of names) {
      console.log(
        `${name}: median ${median(rps[name]).toFixed(0)} req/s, ratio to the baseline ${round(median(ratios[name]))}, CPU µs/request app ${median(cpu[name]).toFixed(0)} + PostgreSQL ${pg[name].length ? median(pg[name]).toFixed(0) : '?'}`,
      );
    }
  } finally {
    for (const app of Object.values(apps)) await app.close();
    await env.cleanup(false);
  }
}

runScript(main);
