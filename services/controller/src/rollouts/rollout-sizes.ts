/** How many hosts go together: batch assignment and count-or-percentage settings. */

/** Host batches for `count` hosts: the canary batch first (when canary > 0), then batches of `batchCount`. */
export function assignBatches(count: number, canary: number, batchCount: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (i < canary) out.push(0);
    else out.push((canary > 0 ? 1 : 0) + Math.floor((i - canary) / batchCount));
  }
  return out;
}

/** A count, or a percentage of `total` ("25%"): rounded up for batch sizes, down for tolerances. */
export function resolveCount(value: number | string, total: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const pct = Number(value.slice(0, -1));
  const exact = (pct * total) / 100;
  return round === 'up' ? Math.ceil(exact) : Math.floor(exact);
}
