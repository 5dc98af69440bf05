/** A V8 CPU profile (the parts used here). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of a profile, per module and per function, in µs per request. */
export interface ProfileSummary {
  requests: number;
  busyUsPerRequest: number;
  modules: [string, number][];
  functions: [string, number][];
  /** Every function's self time, µs per request (for differences between two profiles). */
  allFunctions: Record<string, number>;
}

function moduleOf(url: string): string {
  if (!url) return '(native, gc, idle-free runtime)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.includes('/libs/tenancy/')) return 'libs/tenancy';
  if (url.includes('/apps/')) return 'apps';
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.replace(/^.*\//, '');
}

/** Sums self time (excluding idle) per module and per function, divided by `requests`. */
export function summarizeProfile(profile: CpuProfile, requests: number, top = 30): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i]));
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') continue;
    total += us;
    const mod = moduleOf(n.callFrame.url);
    modules.set(mod, (modules.get(mod) ?? 0) + us);
    const fn = `${name || '(anonymous)'} ${mod}:${n.callFrame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const per = (us: number) => Math.round(us / Math.max(requests, 1));
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, per(us)] as [string, number]);
  return {
    requests,
    busyUsPerRequest: per(total),
    modules: sorted(modules),
    functions: sorted(functions),
    allFunctions: Object.fromEntries(
      [...functions].map(([k, us]) => [k, us / Math.max(requests, 1)]),
    ),
  };
}

/** The functions whose self time per request grew most from `base` to `other` (µs per request). */
export function largestDifferences(
  base: ProfileSummary,
  other: ProfileSummary,
  top = 30,
): [fn: string, diff: number, base: number, other: number][] {
  const names = new Set([...Object.keys(base.allFunctions), ...Object.keys(other.allFunctions)]);
  return [...names]
    .map((k): [string, number, number, number] => {
      const a = base.allFunctions[k] ?? 0;
      const b = other.allFunctions[k] ?? 0;
      return [k, b - a, a, b];
    })
    .sort((x, y) => y[1] - x[1])
    .slice(0, top);
}
