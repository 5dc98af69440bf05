const UNITS: [number, string][] = [
  [60 * 60 * 1000, 'hour'],
  [60 * 1000, 'minute'],
  [1000, 'second'],
];

/** `ms` in the largest whole unit up to hours: `24 hours`, `90 minutes`, `1 second`, `1500 ms`. */
export function formatDuration(ms: number): string {
  const [size, unit] = UNITS.find(([s]) => ms >= s && ms % s === 0) ?? [1, 'ms'];
  const n = ms / size;
  return unit === 'ms' ? `${n} ms` : `${n} ${unit}${n === 1 ? '' : 's'}`;
}
