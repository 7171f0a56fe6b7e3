import type { ExitStatus, ManagedProcess } from './managed-process.js';
import { freePort } from './free-port.js';
import type { TempDir } from './temp-dir.js';

/**
 * What MariaDB and Redis for tests share: a server named by an environment
 * variable (used as is, never stopped), or a throwaway one in a temp dir on
 * a free port on 127.0.0.1 that chaos tests stop, kill and start again.
 */

/** What a test sees of a server, MariaDB or Redis: a throwaway one or the one an environment variable names. */
export interface ServerInstance {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** True when the server came from the environment variable: it cannot be stopped, so chaos tests should skip. */
  readonly external: boolean;
  /** PID of the running server, undefined when stopped or external. */
  readonly pid: number | undefined;
  /** The temp dir (data, socket, logs); undefined when external. */
  readonly dir: string | undefined;
  /**
   * The server's UNIX socket; undefined when external. A daemon inside a
   * network namespace reaches the server through it, since the socket is a
   * file and files are shared across namespaces (see netns.ts).
   */
  readonly socketPath: string | undefined;
  /** Stops the server (by PID) and removes its temp dir. Idempotent; a no-op when external. */
  stop(): Promise<void>;
  /** Graceful shutdown (SIGTERM, then SIGKILL after a bound), keeping the temp dir for startServer(). */
  stopServer(): Promise<void>;
  /** SIGKILL the server, as a crash. */
  killServer(): Promise<void>;
  /** Starts the server again on the same port (and data) and waits until it answers. */
  startServer(): Promise<void>;
}

/** A server named by an environment variable: it is not ours to stop or start. */
/** What an environment variable naming an external server must hold, and how errors name it. */
export interface ExternalServerSpec {
  /** "Redis". */
  name: string;
  /** "SMGR_TEST_REDIS_URL". */
  variable: string;
  /** Accepted URL protocols; errors name the first ("redis:"). */
  protocols: readonly string[];
  /** The form errors show: "redis://host:port". */
  expected: string;
  /** The port when the URL names none. */
  defaultPort: number;
}

export abstract class ExternalServer {
  readonly external = true;
  readonly pid = undefined;
  readonly dir = undefined;
  readonly socketPath = undefined;
  readonly host: string;
  readonly port: number;
  /** The URL the variable holds (throws a plain error naming the variable if it is not one of `spec.protocols`). */
  protected readonly parsed: URL;

  protected constructor(
    private readonly spec: ExternalServerSpec,
    raw: string,
  ) {
    this.parsed = parseServerUrl(spec.variable, raw, spec.protocols, spec.expected);
    this.host = this.parsed.hostname || '127.0.0.1';
    this.port = this.parsed.port ? Number(this.parsed.port) : spec.defaultPort;
  }

  async stop(): Promise<void> {}
  async stopServer(): Promise<void> {
    throw this.#notOurs();
  }
  async killServer(): Promise<void> {
    throw this.#notOurs();
  }
  async startServer(): Promise<void> {
    throw this.#notOurs();
  }

  #notOurs(): Error {
    return new Error(`${this.spec.name} comes from ${this.spec.variable} and cannot be stopped or started; skip when instance.external`);
  }
}

/** A parsed server URL from an environment variable, or a plain error naming it. */
function parseServerUrl(variable: string, raw: string, protocols: readonly string[], expected: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${variable} is not a URL (expected ${expected})`);
  }
  if (!protocols.includes(u.protocol)) throw new Error(`${variable} must start with ${protocols[0]}// (got ${u.protocol}//)`);
  return u;
}

/** "exited (code=1 signal=null ENOENT)": how a server's exit reads in an error. */
export function exitText(exit: ExitStatus): string {
  return `exited (code=${exit.code} signal=${exit.signal}${exit.error ? ` ${exit.error.message}` : ''})`;
}

/** A throwaway server: one process at a time, in a temp dir removed by stop(). */
export abstract class ThrowawayServer {
  readonly external = false;
  readonly host = '127.0.0.1';
  protected currentPort = 0;
  protected server: ManagedProcess | undefined;
  #stopped = false;

  protected constructor(
    protected readonly tmp: TempDir,
    protected readonly binary: string,
    /** How long a graceful stopServer() waits before SIGKILL. */
    private readonly shutdownMs: number,
  ) {}

  /** Starts the server process on `currentPort` and resolves once it answers; throws (with the server stopped) when it does not. */
  protected abstract spawnAndWait(): Promise<void>;

  get port(): number {
    return this.currentPort;
  }
  get pid(): number | undefined {
    return this.server?.running ? this.server.pid : undefined;
  }
  get dir(): string {
    return this.tmp.path;
  }

  async stopServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.stop('SIGTERM', this.shutdownMs);
  }

  async killServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.kill9();
    await server?.stop();
  }

  async startServer(): Promise<void> {
    if (this.#stopped) throw new Error(`startServer() after stop(): ${this.tmp.path} is gone`);
    if (this.server?.running) return;
    await this.spawnAndWait();
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

  /** A port found free can be taken before the server binds it; then try another, up to `attempts` times. */
  protected async startOnFreePort(attempts: number, portTaken: (err: unknown) => Promise<boolean>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.currentPort = await freePort();
      try {
        await this.spawnAndWait();
        return;
      } catch (err) {
        if (attempt >= attempts || !(await portTaken(err))) throw err;
      }
    }
  }

  /**
   * Polls `ready` every `everyMs` until it resolves, `server` exits or
   * `timeoutMs` passes. On failure stops the server and throws what
   * `failure` says, given how it ended and the last error of `ready`.
   */
  protected async waitReady(
    server: ManagedProcess,
    ready: () => Promise<void>,
    o: { timeoutMs: number; everyMs: number; failure: (exit: ExitStatus | undefined, lastError: string) => Promise<string> | string },
  ): Promise<void> {
    const deadline = Date.now() + o.timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline && server.running) {
      try {
        await ready();
        return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, o.everyMs));
    }
    const exit = server.exitStatus;
    await server.stop('SIGTERM', 5_000);
    this.server = undefined;
    throw new Error(await o.failure(exit, lastError instanceof Error ? lastError.message : String(lastError)));
  }
}
