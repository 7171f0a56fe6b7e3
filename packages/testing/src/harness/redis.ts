import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedProcess } from './managed-process.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { ExternalServer, exitText, ThrowawayServer, type ServerInstance } from './throwaway-server.js';

/**
 * A Redis server for tests: a throwaway one, or the one `SMGR_TEST_REDIS_URL`
 * names. With `--save ''` all data is gone after stopServer()/startServer(),
 * as after a real Redis restart without persistence; the socket is used as
 * `unix://<socketPath>`.
 */
export interface RedisInstance extends ServerInstance {
  /** `redis://127.0.0.1:port` */
  readonly url: string;
}

const READY_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/**
 * A Redis server for one test file. With `SMGR_TEST_REDIS_URL` that server is
 * used as is; otherwise `redis-server --save ''` on a free port on 127.0.0.1
 * (~20 ms). Give each test its own BullMQ prefix (uniquePrefix).
 */
export async function startRedis(): Promise<RedisInstance> {
  const external = process.env.SMGR_TEST_REDIS_URL;
  if (external) return new ExternalRedis(external);
  return LocalRedis.create();
}

class ExternalRedis extends ExternalServer implements RedisInstance {
  constructor(readonly url: string) {
    super({ name: 'Redis', variable: 'SMGR_TEST_REDIS_URL', protocols: ['redis:', 'rediss:'], expected: 'redis://host:port', defaultPort: 6379 }, url);
  }
}

class LocalRedis extends ThrowawayServer implements RedisInstance {
  private constructor(tmp: TempDir, binary: string) {
    super(tmp, binary, SHUTDOWN_TIMEOUT_MS);
  }

  static async create(): Promise<LocalRedis> {
    const binary = findBinary(['redis-server'], 'redis-server');
    const tmp = await makeTempDir('redis');
    const redis = new LocalRedis(tmp, binary);
    try {
      await redis.startOnFreePort(START_ATTEMPTS, async (err) => /Address already in use/i.test(String(err)));
    } catch (err) {
      await redis.stop().catch(() => undefined);
      throw err;
    }
    return redis;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }
  get socketPath(): string {
    return join(this.tmp.path, 'redis.sock');
  }

  protected async spawnAndWait(): Promise<void> {
    const server = ManagedProcess.start(
      this.binary,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.tmp.path,
        '--unixsocket',
        this.socketPath,
        '--unixsocketperm',
        '700',
        '--daemonize',
        'no',
      ],
      { name: 'redis-server', logDir: this.tmp.path },
    );
    this.server = server;
    await this.waitReady(server, () => ping(this.host, this.port), {
      timeoutMs: READY_TIMEOUT_MS,
      everyMs: 10,
      failure: (exit, lastError) => {
        const what = exit
          ? `redis-server ${exitText(exit)} before answering PING`
          : `redis-server did not answer PING on 127.0.0.1:${this.port} within ${READY_TIMEOUT_MS}ms`;
        return `${what}; last error: ${lastError}\n${server.tail(30)}`;
      },
    });
  }
}

/** One PING over a fresh TCP connection; resolves on +PONG. */
function ping(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let reply = '';
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(1_000, () => fail(new Error('PING timed out')));
    socket.once('error', fail);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (!reply.includes('\r\n')) return;
      socket.destroy();
      if (reply.startsWith('+PONG')) resolve();
      else reject(new Error(`PING answered ${JSON.stringify(reply.trim())}`));
    });
  });
}
