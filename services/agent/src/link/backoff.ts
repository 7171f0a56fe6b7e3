/**
 * "Full jitter" exponential backoff (AWS architecture blog): a random delay
 * in [0, min(max, base * 2^n)], so a fleet reconnecting after a controller
 * restart spreads out instead of arriving as one herd.
 */
export function jitteredBackoff(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
