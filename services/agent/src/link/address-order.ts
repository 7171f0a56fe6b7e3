import { createHash } from 'node:crypto';

/**
 * The order an agent tries its controller addresses in. `spread`: by
 * rendezvous (highest random weight) hashing of host id and address, so a
 * fleet listing the same controllers spreads evenly over them, each host
 * always starts at the same one, and when that one is down its agents spread
 * evenly over the others instead of all falling to the next in the list.
 * The order depends on the set of addresses, not on how the list is written.
 * `listed`: as written.
 */
export function controllerOrder(hostId: string, addresses: readonly string[], mode: 'spread' | 'listed'): string[] {
  const unique = [...new Set(addresses)];
  if (mode === 'listed') return unique;
  const weight = (a: string) => createHash('sha256').update(`${hostId}\0${a}`).digest().readBigUInt64BE(0);
  return unique
    .map((a) => ({ a, w: weight(a) }))
    .sort((x, y) => (x.w === y.w ? (x.a < y.a ? -1 : 1) : x.w > y.w ? -1 : 1))
    .map((x) => x.a);
}
