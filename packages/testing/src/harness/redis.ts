import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

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

class ExternalRedis implements RedisInstance {
  readonly external = true;
  readonly pid = undefined;
  readonly dir = undefined;
  readonly socketPath = undefined;

  private constructor(
    readonly url: string,
    readonly host: string,
    readonly port: number,
  ) {}

  static fromUrl(raw: string): ExternalRedis {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error('SMGR_TEST_REDIS_URL is not a URL (expected redis://host:port)');
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
      throw new Error(`SMGR_TEST_REDIS_URL must start with redis:// (got ${u.protocol}//)`);
    }
    return new ExternalRedis(raw, u.hostname || '127.0.0.1', u.port ? Number(u.port) : 6379);
  }

  async stop(): Promise<void> {}
  async stopServer(): Promise<void> {
    throw notOurs();
  }
  async killServer(): Promise<void> {
    throw notOurs();
  }
  async startServer(): Promise<void> {
    throw notOurs();
  }
}

function notOurs(): Error {
  return new Error('Redis comes from SMGR_TEST_REDIS_URL and cannot be stopped or started; skip when instance.external');
}

class LocalRedis implements RedisInstance {
  readonly external = false;
  readonly host = '127.0.0.1';
  #port = 0;
  #server: ManagedProcess | undefined;
  #stopped = false;

  private constructor(
    private readonly tmp: TempDir,
    private readonly binary: string,
  ) {}

  static async create(): Promise<LocalRedis> {
    const binary = findBinary(['redis-server'], 'redis-server');
    const tmp = await makeTempDir('redis');
    const redis = new LocalRedis(tmp, binary);
    try {
      for (let attempt = 1; ; attempt++) {
        redis.#port = await freePort();
        try {
          await redis.#spawnAndWait();
          break;
        } catch (err) {
          // The free port was taken before redis bound it: try another.
          if (!/Address already in use/i.test(String(err)) || attempt >= START_ATTEMPTS) throw err;
        }
      }
    } catch (err) {
      await redis.stop().catch(() => undefined);
      throw err;
    }
    return redis;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `redis://${this.host}:${this.#port}`;
  }
  get pid(): number | undefined {
    return this.#server?.running ? this.#server.pid : undefined;
  }
  get dir(): string {
    return this.tmp.path;
  }
  get socketPath(): string {
    return join(this.tmp.path, 'redis.sock');
  }

  async stopServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.stop('SIGTERM', 10_000);
  }

  async killServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.kill9();
    await server?.stop();
  }

  async startServer(): Promise<void> {
    if (this.#stopped) throw new Error('startServer() after stop()');
    if (this.#server?.running) return;
    await this.#spawnAndWait();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      await this.stopServer();
    } finally {
      await this.tmp.remove();
    }
  }

  async #spawnAndWait(): Promise<void> {
    const server = ManagedProcess.start(
      this.binary,
      [
        '--port',
        String(this.#port),
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
    this.#server = server;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline && server.running) {
      try {
        await ping(this.host, this.#port);
        return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const exit = server.exitStatus;
    await server.stop('SIGTERM', 5_000);
    this.#server = undefined;
    const what = exit
      ? `redis-server exited (code=${exit.code} signal=${exit.signal}${exit.error ? ` ${exit.error.message}` : ''}) before answering PING`
      : `redis-server did not answer PING on 127.0.0.1:${this.#port} within ${READY_TIMEOUT_MS}ms`;
    throw new Error(`${what}; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}\n${server.tail(30)}`);
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
