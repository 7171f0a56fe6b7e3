/**
 * One fleet (`startFleet`) for a whole test file: `useFleet()` registers the
 * node:test before/after pair that the API, CLI and notification tests used
 * to write out by hand, on the file's throwaway servers (`useServers`).
 *
 * ```ts
 * const { fleet } = useFleet({ hostIds: ['a1'], service }, async (fleet) => {
 *   await fleet.db.exec('INSERT INTO PROCESE …');   // seed rows once the fleet runs
 * });
 * test('…', async () => { await fleet.api.get('/v1/hosts'); });
 * ```
 */
import { after, before } from 'node:test';
import { Cleanup } from '../harness/index.js';
import { useServers, type Servers } from '../servers.js';
import { startFleet, type Fleet, type FleetOptions } from './operator-api.js';

export interface FleetFixture {
  /** The file's fleet; reading it before the file's before hook started it throws. */
  readonly fleet: Fleet;
  /** Run after the file's tests, newest first: the fleet's cleanups and whatever the file adds (receivers, temp dirs). */
  readonly files: Cleanup;
  readonly servers: Servers;
}

/**
 * `options` may be a function of the file's cleanups: it runs in the before
 * hook, ahead of the fleet, for what the controller's settings name (a
 * receiver's port, a CA). `then` runs once every host is connected.
 */
export function useFleet(
  options: FleetOptions | ((files: Cleanup) => FleetOptions | Promise<FleetOptions>),
  then?: (fleet: Fleet, files: Cleanup) => Promise<void>,
): FleetFixture {
  const files = new Cleanup();
  let started: Fleet | undefined;
  // Registered ahead of useServers(): the fleet stops before its servers do.
  after(() => files.run());
  const servers = useServers();
  before(async () => {
    await servers.ready;
    const opts = typeof options === 'function' ? await options(files) : options;
    started = await startFleet(files, servers, opts);
    // The file's own helpers (reading the returned fleet) may already run in `then`.
    await then?.(started, files);
  });
  // A stand-in for the fleet the before hook starts: its fields (api, controller) change on restartController.
  const fleet = new Proxy({} as Fleet, {
    get(_target, key) {
      if (!started) throw new Error(`useFleet(): fleet.${String(key)} read before the file's before hook started the fleet`);
      return Reflect.get(started, key);
    },
  });
  return { fleet, files, servers };
}
