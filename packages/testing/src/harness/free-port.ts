import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago. Another process can take
 * it before you bind it, so servers started on it should retry on EADDRINUSE
 * (startMariaDb and startRedis do).
 *
 * Chosen below the kernel's ephemeral range (ip_local_port_range): a port from
 * that range can be handed again to anything that binds port 0 or connects
 * out, such as the controller's own API on `127.0.0.1:0` before it binds the
 * gRPC port a test chose (seen in CI: exit 78, "address already in use").
 * Where there is no room below the range, a port the kernel picks.
 */
export async function freePort(): Promise<number> {
  const top = ephemeralRangeStart();
  const bottom = Math.max(10_000, top - 12_000);
  for (let tries = 0; tries < 50 && top - bottom > 100; tries++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if ((await listenOnce(port)) !== null) return port;
  }
  const port = await listenOnce(0);
  if (port === null) throw new Error('freePort: no free TCP port on 127.0.0.1');
  return port;
}

/** The first port of the kernel's ephemeral range (Linux default 32768). */
function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** Binds `port` (0: the kernel's choice) on 127.0.0.1 and closes it: the port, or null when it was taken. */
function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(null) : reject(err)));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listen returned no TCP address'));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
