import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection for `[redis] url`: redis://, rediss:// (TLS) or
 * unix:///path/to/redis.sock[?db=N]. ioredis reads the first two itself; a
 * socket is given to it as `path` (its own URL parser takes "unix:" for a host).
 */
export function createRedisConnection(url: string, options: RedisOptions = {}): Redis {
  const u = new URL(url);
  if (u.protocol !== 'unix:') return new Redis(url, options);
  const db = u.searchParams.get('db');
  return new Redis({
    ...options,
    path: decodeURIComponent(u.pathname),
    ...(db !== null && /^\d+$/.test(db) ? { db: Number(db) } : {}),
  });
}

/**
 * QUIT when connected; a connection that never became ready would queue the
 * QUIT until Redis came back (a stop that never ends): drop it instead.
 */
export async function closeRedis(r: Redis | null): Promise<void> {
  if (r === null) return;
  if (r.status !== 'ready') {
    r.disconnect();
    return;
  }
  await r.quit().catch(() => r.disconnect());
}
