import type { ProcessConfig } from '@smgr/shared';

/**
 * The order of start-all and stop-all (seed 003 startup-rank): start by
 * ascending startup_rank, stop by descending, equal ranks in config order
 * (start) or reverse config order (stop), so stop undoes start exactly.
 */
export function rankOrder(services: readonly ProcessConfig[], direction: 'start' | 'stop'): ProcessConfig[] {
  const indexed = services.map((s, i) => ({ s, i }));
  indexed.sort((a, b) => a.s.startupRank - b.s.startupRank || a.i - b.i);
  const ordered = indexed.map((x) => x.s);
  return direction === 'start' ? ordered : ordered.reverse();
}
