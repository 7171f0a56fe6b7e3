import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findBinary } from './binaries.js';
import { ManagedProcess } from './managed-process.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { ExternalServer, exitText, ThrowawayServer, type ServerInstance } from './throwaway-server.js';

/**
 * A MariaDB server for tests: a throwaway one, or the one `SMGR_TEST_MYSQL_URL`
 * names. stopServer() keeps the datadir; after killServer() InnoDB recovers
 * on the next startServer(). Log in on the socket as `user`/`password`.
 */
export interface MariaDbInstance extends ServerInstance {
  /** `mysql://user:password@127.0.0.1:port` (no database; see createTestDatabase). */
  readonly url: string;
  readonly user: string;
  readonly password: string;
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
  if (external && !opts.tls) return new ExternalMariaDb(external);
  return LocalMariaDb.create(opts);
}

export interface MariaDbOptions {
  /** Serve TLS with these PEM files (mariadbd --ssl-ca/--ssl-cert/--ssl-key); plaintext stays allowed unless an account REQUIREs SSL. */
  tls?: { ca: string; cert: string; key: string };
}

class ExternalMariaDb extends ExternalServer implements MariaDbInstance {
  readonly user: string;
  readonly password: string;
  readonly url: string;

  constructor(raw: string) {
    super(
      { name: 'MariaDB', variable: 'SMGR_TEST_MYSQL_URL', protocols: ['mysql:', 'mariadb:'], expected: 'mysql://user:pass@host:port', defaultPort: 3306 },
      raw,
    );
    this.user = decodeURIComponent(this.parsed.username || 'root');
    this.password = decodeURIComponent(this.parsed.password);
    this.url = mysqlUrl(this.host, this.port, this.user, this.password);
  }
}

class LocalMariaDb extends ThrowawayServer implements MariaDbInstance {
  readonly user = 'smgr_test';
  readonly password = randomBytes(9).toString('base64url');

  private constructor(
    tmp: TempDir,
    binary: string,
    private readonly opts: MariaDbOptions = {},
  ) {
    super(tmp, binary, SHUTDOWN_TIMEOUT_MS);
  }

  static async create(opts: MariaDbOptions = {}): Promise<LocalMariaDb> {
    const mariadbd = findBinary(['mariadbd', 'mysqld'], 'mariadb-server');
    const installDb = findBinary(['mariadb-install-db', 'mysql_install_db'], 'mariadb-server');
    const tmp = await makeTempDir('mariadb');
    const db = new LocalMariaDb(tmp, mariadbd, opts);
    try {
      await mkdir(db.#paths.tmp);
      await db.#install(installDb);
      await db.startOnFreePort(START_ATTEMPTS, async () => /Bind on TCP\/IP port|Address already in use/i.test(await tailOf(db.#paths.errLog, 200)));
      await db.#createUser();
    } catch (err) {
      await db.stop().catch(() => undefined);
      throw err;
    }
    return db;
  }

  get url(): string {
    return mysqlUrl(this.host, this.port, this.user, this.password);
  }
  get socketPath(): string {
    return this.#paths.socket;
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
      throw new Error(`mariadb-install-db failed: ${exitText(exit)}\n${proc.tail()}`);
    }
  }

  protected async spawnAndWait(): Promise<void> {
    const p = this.#paths;
    const root = process.getuid?.() === 0;
    const server = ManagedProcess.start(
      this.binary,
      [
        '--no-defaults',
        `--datadir=${p.data}`,
        `--socket=${p.socket}`,
        `--pid-file=${p.pidFile}`,
        `--port=${this.port}`,
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
    this.server = server;
    await this.waitReady(server, () => ping({ host: this.host, port: this.port, user: 'root', password: '' }), {
      timeoutMs: READY_TIMEOUT_MS,
      everyMs: 50,
      failure: async (exit, lastError) => {
        const what = exit
          ? `mariadbd ${exitText(exit)} before accepting connections`
          : `mariadbd did not accept connections on 127.0.0.1:${this.port} within ${READY_TIMEOUT_MS}ms`;
        return `${what}; last connect error: ${lastError}\n--- tail of ${p.errLog} ---\n${await tailOf(p.errLog, 30)}\n${server.tail(10)}`;
      },
    });
  }

  /** A password-protected TCP user, so tests exercise the same login path as deployments. */
  async #createUser(): Promise<void> {
    const conn = await mysql.createConnection({ host: this.host, port: this.port, user: 'root', password: '' });
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
