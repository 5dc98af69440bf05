/** Sorted copy. */
function sorted(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

/** The q-quantile (0..1) by linear interpolation; NaN for no values. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = sorted(values);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (values: ArrayLike<number>): number => quantile(values, 0.5);
export const p99 = (values: ArrayLike<number>): number => quantile(values, 0.99);

/** Rounds for JSON and tables. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Concatenates number arrays (latency samples of several rounds). */
export function concat(parts: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(Array.from(p), at);
    at += p.length;
  }
  return out;
}
