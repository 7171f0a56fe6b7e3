import { createRedisConnection } from './redis-connection.js';

/**
 * One try at Redis: connect, PING, close. Unlike the daemon's own connections
 * (which queue commands and reconnect forever), it fails at once with the
 * real reason: connection refused, NOAUTH, WRONGPASS.
 */
export async function probeRedis(url: string, timeoutMs = 2_000): Promise<void> {
  const r = createRedisConnection(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the reason (ECONNREFUSED, NOAUTH, WRONGPASS) comes as an event.
  let reason: unknown;
  r.on('error', (err) => (reason ??= err));
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw reason ?? err;
  } finally {
    r.disconnect();
  }
}
