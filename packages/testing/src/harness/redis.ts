import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedProcess } from './managed-process.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { ExternalServer, exitText, parseServerUrl, ThrowawayServer } from './throwaway-server.js';

/** A Redis server for tests: a throwaway one, or the one `SMGR_TEST_REDIS_URL` names. */
export interface RedisInstance {
  /** `redis://127.0.0.1:port` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when the server came from `SMGR_TEST_REDIS_URL`: it cannot be stopped, so chaos tests should skip. */
  readonly external: boolean;
  /** PID of the running redis-server, undefined when stopped or external. */
  readonly pid: number | undefined;
  /** The temp dir (redis `--dir`, log); undefined when external. */
  readonly dir: string | undefined;
  /**
   * The server's UNIX socket; undefined when external. Daemons inside a
   * network namespace use it as `unix://<socketPath>` (see netns.ts).
   */
  readonly socketPath: string | undefined;
  /** Stops the server (by PID) and removes its temp dir. Idempotent; a no-op when external. */
  stop(): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s). With `--save ''` all data is gone on the next start, as after a real Redis restart without persistence. */
  stopServer(): Promise<void>;
  /** SIGKILL the server, as a crash. */
  killServer(): Promise<void>;
  /** Starts the server again on the same port and waits until PING answers. */
  startServer(): Promise<void>;
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
  if (external) return ExternalRedis.fromUrl(external);
  return LocalRedis.create();
}

class ExternalRedis extends ExternalServer implements RedisInstance {
  private constructor(
    readonly url: string,
    readonly host: string,
    readonly port: number,
  ) {
    super('Redis comes from SMGR_TEST_REDIS_URL');
  }

  static fromUrl(raw: string): ExternalRedis {
    const u = parseServerUrl('SMGR_TEST_REDIS_URL', raw, ['redis:', 'rediss:'], 'redis://host:port');
    return new ExternalRedis(raw, u.hostname || '127.0.0.1', u.port ? Number(u.port) : 6379);
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
