import type { LiveController } from './host-routes.js';

/**
 * How many of its agents a controller asks to move now: the agents it holds
 * above an even share of the live fleet (rounded up, so a fleet that cannot
 * split evenly does not churn), at most `perTick`. A controller alone, or
 * not yet counted among the live ones, moves nobody.
 */
export function agentsToMove(me: string, mine: number, live: readonly LiveController[], perTick: number): number {
  if (perTick <= 0 || live.length < 2 || !live.some((c) => c.id === me)) return 0;
  // Our own count as it is now; the others' as they last reported it.
  const total = live.reduce((n, c) => n + (c.id === me ? mine : c.agents), 0);
  const share = Math.ceil(total / live.length);
  return Math.max(0, Math.min(mine - share, perTick));
}
