import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findBinary } from './binaries.js';
import { freePort } from './free-port.js';
import { ManagedProcess } from './managed-process.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** A MariaDB server for tests: a throwaway one, or the one `SMGR_TEST_MYSQL_URL` names. */
export interface MariaDbInstance {
  /** `mysql://user:password@127.0.0.1:port` (no database; see createTestDatabase). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** True when the server came from `SMGR_TEST_MYSQL_URL`: it cannot be stopped, so chaos tests should skip. */
  readonly external: boolean;
  /** PID of the running mariadbd, undefined when stopped or external. */
  readonly pid: number | undefined;
  /** The temp dir holding datadir, socket, err.log; undefined when external. */
  readonly dir: string | undefined;
  /**
   * The server's UNIX socket (log in as `user`/`password`); undefined when
   * external. A daemon inside a network namespace reaches the server through
   * it, since the socket is a file and files are shared across namespaces.
   */
  readonly socketPath: string | undefined;
  /** Stops the server (by PID) and removes its temp dir. Idempotent; a no-op when external. */
  stop(): Promise<void>;
  /** Graceful shutdown (SIGTERM, SIGKILL after 30 s), keeping the datadir for startServer(). */
  stopServer(): Promise<void>;
  /** SIGKILL the server, as a crash: InnoDB recovers on the next startServer(). */
  killServer(): Promise<void>;
  /** Starts the server again on the same port and datadir and waits until it accepts connections. */
  startServer(): Promise<void>;
}

/** How long a server may take to accept connections (first start after install, or a restart with recovery). */
const READY_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;

/**
 * A MariaDB server for one test file. With `SMGR_TEST_MYSQL_URL`
 * (`mysql://user:pass@host:port`) that server is used as is; otherwise a
 * throwaway one is installed in a temp dir and started on a free port on
 * 127.0.0.1 (~0.6 s). Tests get their own databases from createTestDatabase.
 */
export async function startMariaDb(opts: MariaDbOptions = {}): Promise<MariaDbInstance> {
  const external = process.env.SMGR_TEST_MYSQL_URL;
  // A TLS server must hold the test's own certificates: always a throwaway one.
  if (external && !opts.tls) return ExternalMariaDb.fromUrl(external);
  return LocalMariaDb.create(opts);
}

export interface MariaDbOptions {
  /** Serve TLS with these PEM files (mariadbd --ssl-ca/--ssl-cert/--ssl-key); plaintext stays allowed unless an account REQUIREs SSL. */
  tls?: { ca: string; cert: string; key: string };
}

class ExternalMariaDb implements MariaDbInstance {
  readonly external = true;
  readonly pid = undefined;
  readonly dir = undefined;
  readonly socketPath = undefined;

  private constructor(
    readonly url: string,
    readonly host: string,
    readonly port: number,
    readonly user: string,
    readonly password: string,
  ) {}

  static fromUrl(raw: string): ExternalMariaDb {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new Error(`SMGR_TEST_MYSQL_URL is not a URL (expected mysql://user:pass@host:port)`);
    }
    if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
      throw new Error(`SMGR_TEST_MYSQL_URL must start with mysql:// (got ${u.protocol}//)`);
    }
    const host = u.hostname || '127.0.0.1';
    const port = u.port ? Number(u.port) : 3306;
    const user = decodeURIComponent(u.username || 'root');
    const password = decodeURIComponent(u.password);
    return new ExternalMariaDb(mysqlUrl(host, port, user, password), host, port, user, password);
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
  return new Error('MariaDB comes from SMGR_TEST_MYSQL_URL and cannot be stopped or started; skip when instance.external');
}

class LocalMariaDb implements MariaDbInstance {
  readonly external = false;
  readonly host = '127.0.0.1';
  readonly user = 'smgr_test';
  readonly password = randomBytes(9).toString('base64url');
  #port = 0;
  #server: ManagedProcess | undefined;
  #stopped = false;

  private constructor(
    private readonly tmp: TempDir,
    private readonly binary: string,
    private readonly opts: MariaDbOptions = {},
  ) {}

  static async create(opts: MariaDbOptions = {}): Promise<LocalMariaDb> {
    const mariadbd = findBinary(['mariadbd', 'mysqld'], 'mariadb-server');
    const installDb = findBinary(['mariadb-install-db', 'mysql_install_db'], 'mariadb-server');
    const tmp = await makeTempDir('mariadb');
    const db = new LocalMariaDb(tmp, mariadbd, opts);
    try {
      await mkdir(db.#paths.tmp);
      await db.#install(installDb);
      await db.#firstStart();
      await db.#createUser();
    } catch (err) {
      await db.stop().catch(() => undefined);
      throw err;
    }
    return db;
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return mysqlUrl(this.host, this.#port, this.user, this.password);
  }
  get pid(): number | undefined {
    return this.#server?.running ? this.#server.pid : undefined;
  }
  get dir(): string {
    return this.tmp.path;
  }
  get socketPath(): string {
    return this.#paths.socket;
  }

  async stopServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.stop('SIGTERM', SHUTDOWN_TIMEOUT_MS);
  }

  async killServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.kill9();
    await server?.stop();
  }

  async startServer(): Promise<void> {
    if (this.#stopped) throw new Error('startServer() after stop(): the datadir is gone');
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

  /**
   * `tmp` matters: at startup mariadbd deletes every `#sql*` file in its
   * tmpdir, so servers sharing /tmp (ours in parallel test files, or the
   * system one) would delete each other's in-use temporary tables.
   */
  get #paths(): { data: string; tmp: string; socket: string; errLog: string; pidFile: string } {
    const d = this.tmp.path;
    return {
      data: join(d, 'data'),
      tmp: join(d, 'tmp'),
      socket: join(d, 'sock'),
      errLog: join(d, 'err.log'),
      pidFile: join(d, 'mariadbd.pid'),
    };
  }

  async #install(installDb: string): Promise<void> {
    const proc = ManagedProcess.start(
      installDb,
      [
        '--no-defaults',
        `--datadir=${this.#paths.data}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        `--user=${userInfo().username}`,
        `--tmpdir=${this.#paths.tmp}`,
        ...SERVER_TUNING,
      ],
      { name: 'mariadb-install-db', logDir: this.tmp.path },
    );
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      proc.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), READY_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    await proc.stop(); // closes the log; only signals when still running
    if (exit === undefined) {
      throw new Error(`mariadb-install-db still running after ${READY_TIMEOUT_MS}ms\n${proc.tail()}`);
    }
    if (exit.code !== 0) {
      throw new Error(`mariadb-install-db failed (code=${exit.code} signal=${exit.signal}${exit.error ? ` ${exit.error.message}` : ''})\n${proc.tail()}`);
    }
  }

  /** A port found free can be taken before mariadbd binds it; then try another. */
  async #firstStart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.#port = await freePort();
      try {
        await this.#spawnAndWait();
        return;
      } catch (err) {
        const log = await tailOf(this.#paths.errLog, 200);
        const portTaken = /Bind on TCP\/IP port|Address already in use/i.test(log);
        if (!portTaken || attempt >= START_ATTEMPTS) throw err;
      }
    }
  }

  async #spawnAndWait(): Promise<void> {
    const p = this.#paths;
    const root = process.getuid?.() === 0;
    const server = ManagedProcess.start(
      this.binary,
      [
        '--no-defaults',
        `--datadir=${p.data}`,
        `--socket=${p.socket}`,
        `--pid-file=${p.pidFile}`,
        `--port=${this.#port}`,
        '--bind-address=127.0.0.1',
        // mariadbd refuses to run as root unless told to; as anyone else --user is meaningless.
        ...(root ? ['--user=root'] : []),
        '--skip-log-bin',
        '--innodb-buffer-pool-size=16M',
        `--log-error=${p.errLog}`,
        '--skip-name-resolve',
        `--tmpdir=${p.tmp}`,
        ...(this.opts.tls ? [`--ssl-ca=${this.opts.tls.ca}`, `--ssl-cert=${this.opts.tls.cert}`, `--ssl-key=${this.opts.tls.key}`] : []),
        ...SERVER_TUNING,
      ],
      { name: 'mariadbd', logDir: this.tmp.path },
    );
    this.#server = server;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (!server.running) break;
      try {
        await ping({ host: this.host, port: this.#port, user: 'root', password: '' });
        return;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const exit = server.exitStatus;
    await server.stop('SIGTERM', 5_000);
    this.#server = undefined;
    const what = exit
      ? `mariadbd exited (code=${exit.code} signal=${exit.signal}${exit.error ? ` ${exit.error.message}` : ''}) before accepting connections`
      : `mariadbd did not accept connections on 127.0.0.1:${this.#port} within ${READY_TIMEOUT_MS}ms`;
    throw new Error(
      `${what}; last connect error: ${lastError instanceof Error ? lastError.message : String(lastError)}\n` +
        `--- tail of ${p.errLog} ---\n${await tailOf(p.errLog, 30)}\n${server.tail(10)}`,
    );
  }

  /** A password-protected TCP user, so tests exercise the same login path as deployments. */
  async #createUser(): Promise<void> {
    const conn = await mysql.createConnection({ host: this.host, port: this.#port, user: 'root', password: '' });
    try {
      await conn.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [this.user, this.password]);
      await conn.query(`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [this.user]);
    } finally {
      await conn.end();
    }
  }
}

/**
 * Small redo log (the 96 MB default makes each install 114 MB on disk) and
 * relaxed flushing: commits still survive a mariadbd crash, only not an OS crash.
 */
const SERVER_TUNING = ['--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2'];

async function ping(opts: { host: string; port: number; user: string; password: string }): Promise<void> {
  const conn = await mysql.createConnection({ ...opts, connectTimeout: 2_000 });
  try {
    await conn.query('SELECT 1');
  } finally {
    conn.destroy();
  }
}

async function tailOf(path: string, lines: number): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read ${path}: ${(err as Error).message})`;
  }
}

function mysqlUrl(host: string, port: number, user: string, password: string): string {
  const u = new URL(`mysql://${host}:${port}`);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString().replace(/\/$/, '');
}
