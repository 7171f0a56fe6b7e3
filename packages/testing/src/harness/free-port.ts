import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago. Another process can take
 * it before you bind it, so servers started on it should retry on EADDRINUSE
 * (startMariaDb and startRedis do).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
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
