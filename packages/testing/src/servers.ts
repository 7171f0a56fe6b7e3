/**
 * One throwaway MariaDB and Redis for a whole test file: `useServers()`
 * registers the node:test before/after pair that every integration test used
 * to write out by hand.
 *
 * ```ts
 * const servers = useServers();              // at the top of the file
 * test('…', async (t) => {
 *   const stack = await startStack(useCleanup(t), servers, { … });
 * });
 * ```
 */
import { after, before } from 'node:test';
import { startMariaDb, type MariaDbInstance, type MariaDbOptions } from './harness/mariadb.js';
import { startRedis, type RedisInstance } from './harness/redis.js';

export interface UseServersOptions {
  /** Start Redis too (default true); false for tests that only need MariaDB. */
  redis?: boolean;
  /** Options for the MariaDB server (e.g. TLS). */
  mysql?: MariaDbOptions;
}

/** The servers of one test file; reading one before the file's `before` hook ran throws. */
export interface Servers {
  /** Resolves once both servers run (starts them if the before hook has not yet). */
  readonly ready: Promise<void>;
  readonly mysql: MariaDbInstance;
  readonly redis: RedisInstance;
}

export function useServers(opts: UseServersOptions = {}): Servers {
  let mysql: MariaDbInstance | undefined;
  let redis: RedisInstance | undefined;
  let starting: Promise<void> | undefined;
  // Node 20 runs file-level before() hooks at once, side by side: a file's own
  // before() that needs the servers awaits `servers.ready` (which starts them
  // if this hook has not yet).
  const start = (): Promise<void> =>
    (starting ??= (async () => {
      const [m, r] = await Promise.allSettled([startMariaDb(opts.mysql), opts.redis === false ? Promise.resolve(undefined) : startRedis()]);
      if (m.status === 'fulfilled') mysql = m.value;
      if (r.status === 'fulfilled') redis = r.value;
      if (m.status === 'rejected') throw m.reason;
      if (r.status === 'rejected') throw r.reason;
    })());
  before(() => start());
  after(async () => {
    await starting?.catch(() => undefined);
    await Promise.allSettled([mysql?.stop(), redis?.stop()]);
  });
  return {
    get ready(): Promise<void> {
      return start();
    },
    get mysql(): MariaDbInstance {
      if (!mysql) throw new Error('useServers(): MariaDB is not started (await servers.ready in a file-level before hook)');
      return mysql;
    },
    get redis(): RedisInstance {
      if (!redis)
        throw new Error(
          opts.redis === false
            ? 'useServers({ redis: false }): no Redis in this file'
            : 'useServers(): Redis is not started (await servers.ready in a file-level before hook)',
        );
      return redis;
    },
  };
}
