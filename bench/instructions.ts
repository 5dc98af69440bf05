import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AppProcess, AppSpec } from './lib/app-process';
import { runLoad } from './lib/load';
import { extraBaselines, flagReader, quickSupportComparison, runScript } from './lib/script';
import { median } from './lib/stats';

/**
 * Instructions per request of each app's main thread (JavaScript, the event loop, garbage
 * collection pauses), counted by valgrind's callgrind: the same code path gives the same count
 * whatever else the machine is doing, so a change of a few percent that a throughput A/B cannot
 * resolve on 2 shared cores shows here. Each app runs under callgrind with instrumentation off
 * while it starts and warms up; then `--requests` requests (16 connections) are counted, per
 * round, sides alternating. PostgreSQL's share is not counted (see bench/driver.ts for it).
 *
 *   npx ts-node -r tsconfig-paths/register bench/instructions.ts [--rounds 3] [--requests 1500]
 *     [--warm-up 10000] [--path /tickets?limit=50] [--ref ../other-checkout[,../another]]
 *     [--with-cls] [--with-rls]   (extra baseline sides, as in bench/ab.ts)
 *
 * Needs valgrind (`apt-get install valgrind`). Slow: an app under valgrind serves ~50-100
 * requests per second; a run of the defaults takes 5-10 minutes.
 */
async function main(): Promise<void> {
  const arg = flagReader();
  const rounds = Number(arg('--rounds', '3'));
  const amount = Number(arg('--requests', '1500'));
  const warmUp = Number(arg('--warm-up', '10000'));
  const path = arg('--path', '');
  const ref = arg('--ref', '');
  const outDir = resolve('.data/bench-callgrind');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const comparison = await quickSupportComparison(path);
  const { env, requests, baseline, library } = comparison;
  const sides: [string, AppSpec, string?][] = [
    ['baseline', baseline],
    ...extraBaselines(comparison),
    ['library', library],
  ];
  for (const dir of ref.split(',').filter(Boolean))
    sides.push([basename(resolve(dir)), library, dir]);
  const apps: Record<string, AppProcess> = {};
  const counted: Record<string, number[]> = {};
  try {
    for (const [name, spec, root] of sides) {
      console.log(`${name}: starting under callgrind`);
      apps[name] = await AppProcess.start(name, spec, root, [
        'valgrind',
        '--tool=callgrind',
        '--instr-atstart=no',
        '--separate-threads=yes',
        '--smc-check=all-non-file',
        `--callgrind-out-file=${join(outDir, `${name}.%p`)}`,
      ]);
      counted[name] = [];
      // Warm-up: the JIT compiles the hot paths, pools fill, the tenant status is cached.
      await runLoad({
        url: apps[name].url,
        connections: 16,
        seconds: 600,
        amount: warmUp,
        requests,
      });
    }
    for (let r = 0; r < rounds; r++) {
      for (const [name] of sides) {
        const app = apps[name];
        callgrind(['-i', 'on', String(app.pid)]);
        const load = await runLoad({
          url: app.url,
          connections: 16,
          seconds: 600,
          amount,
          requests,
        });
        callgrind(['-d', String(app.pid)]);
        callgrind(['-i', 'off', String(app.pid)]);
        if (load.non2xx || load.errors)
          throw new Error(`${name}: ${load.non2xx} non-2xx, ${load.errors} errors`);
        const ir = lastDumpTotal(outDir, name, app.pid);
        counted[name].push(ir / load.ok);
        console.log(
          `round ${r + 1}: ${name} ${Math.round(ir / load.ok).toLocaleString('en-US')} instructions per request (${load.ok} requests)`,
        );
      }
    }
    const base = median(counted.baseline);
    for (const [name] of sides) {
      const m = median(counted[name]);
      console.log(
        `${name}: median ${Math.round(m).toLocaleString('en-US')} instructions per request (${(m / base).toFixed(3)} × the baseline; rounds ${counted[name].map((v) => Math.round(v / 1000)).join(', ')} thousand)`,
      );
    }
  } finally {
    for (const app of Object.values(apps)) await app.close(120_000);
    await env.cleanup(false);
  }
}

function callgrind(args: string[]): void {
  execFileSync('callgrind_control', args, { stdio: 'ignore' });
}

/**
 * The instruction total of the main thread (JavaScript and what it waits for: the event loop, the
 * garbage collector's pauses) in the newest dump callgrind wrote for `pid`. The compiler's and the
 * concurrent marker's threads are left out: under valgrind, V8 keeps recompiling long after a
 * real run has settled (`--trace-opt` shows it settled after ~10,000 requests without valgrind).
 */
function lastDumpTotal(dir: string, name: string, pid: number): number {
  const prefix = `${name}.${pid}.`;
  const part = (f: string) => Number(f.slice(prefix.length).split('-')[0]);
  const dumps = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('-01'))
    .sort((a, b) => part(a) - part(b));
  const text = readFileSync(join(dir, dumps[dumps.length - 1]), 'utf8');
  const total = /^totals: (\d+)/m.exec(text);
  if (!total) throw new Error(`no total in ${dumps[dumps.length - 1]}`);
  return Number(total[1]);
}

runScript(main);
