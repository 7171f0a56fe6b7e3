/**
 * Tests of the test harness's servers, against real MariaDB and Redis: startMariaDb,
 * createTestDatabase, startRedis, stopping, the safety net, and the small helpers.
 * Processes, waitFor and Cleanup: harness-processes.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { before, describe, test, type TestContext } from 'node:test';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import {
  createTestDatabase,
  freePort,
  makeTempDir,
  ManagedProcess,
  startMariaDb,
  startRedis,
  uniquePrefix,
  useCleanup,
  waitFor,
  type MariaDbInstance,
  type RedisInstance,
  type TestDatabase,
  type TestDatabaseOptions,
} from '@smgr/testing';
import { isAlive } from '@smgr/testing/procs';

const SYSTEM_PORTS = [3306, 6379];
const files = useCleanup();
let server: MariaDbInstance;
let redis: RedisInstance;
/** Reported as a diagnostic, never asserted: timings belong in bench/. */
let startupTimings = '';

before(async () => {
  let t0 = Date.now();
  server = await startMariaDb();
  files.add(() => server.stop(), 'mariadb');
  const mariaMs = Date.now() - t0;
  t0 = Date.now();
  redis = await startRedis();
  files.add(() => redis.stop(), 'redis');
  const redisMs = Date.now() - t0;
  startupTimings = `mariadb ready in ${mariaMs} ms, redis ready in ${redisMs} ms`;
});

function tcpRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** The rows of one query on a connection of its own to the server at `url` (no database selected). */
async function queryServer<T>(sql: string, params: unknown[] = [], url = server.url): Promise<T[]> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 2_000 });
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    conn.destroy();
  }
}

async function selectOne(url: string): Promise<number> {
  return (await queryServer<{ one: number }>('SELECT 1 AS one', [], url))[0]?.one ?? 0;
}

/** A test database on the server, dropped when `t` ends. */
async function testDatabase(t: TestContext, opts?: TestDatabaseOptions): Promise<TestDatabase> {
  const db = await createTestDatabase(server, opts);
  useCleanup(t).add(() => db.drop(), 'database');
  return db;
}

function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  return fn().finally(() => {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  });
}

describe('startMariaDb', () => {
  test('starts a throwaway server on a free loopback port that accepts the login in its url', async (t) => {
    t.diagnostic(startupTimings);
    assert.equal(server.external, false);
    assert.equal(server.host, '127.0.0.1');
    assert.ok(!SYSTEM_PORTS.includes(server.port), `port ${server.port} is a system instance's`);
    assert.equal(server.url, `mysql://${server.user}:${server.password}@127.0.0.1:${server.port}`);
    assert.ok(server.password.length > 0, 'the test user has a password');
    assert.equal(await selectOne(server.url), 1);
    const [version] = await queryServer<{ v: string }>('SELECT VERSION() AS v');
    assert.match(version?.v ?? '', /MariaDB/);
  });

  test('stopServer refuses connections until startServer brings it back on the same port with its data', async (t) => {
    const db = await testDatabase(t);
    await db.exec('INSERT INTO PROCESE VALUES (7, ?)', ['survivor']);
    const { port, pid } = server;
    assert.ok(pid !== undefined && isAlive(pid));

    await server.stopServer();
    assert.equal(server.pid, undefined);
    assert.equal(isAlive(pid), false, 'the old mariadbd is gone');
    assert.equal(await tcpRefused(port), true, 'nothing listens while stopped');
    await assert.rejects(db.query('SELECT 1'));

    const t0 = Date.now();
    await server.startServer();
    t.diagnostic(`mariadb restart took ${Date.now() - t0} ms`);
    assert.equal(server.port, port);
    assert.ok(server.pid !== undefined && server.pid !== pid);
    const rows = await waitFor(() => db.query<{ process_name: string }>('SELECT process_name FROM PROCESE'), {
      timeoutMs: 10_000,
      message: 'the pool reconnects after the restart',
    });
    assert.deepEqual(rows, [{ process_name: 'survivor' }]);
  });

  test('killServer is a crash that startServer recovers from with committed rows intact', async (t) => {
    const db = await testDatabase(t);
    await db.exec('INSERT INTO PROCESE VALUES (1, ?)', ['committed']);
    const pid = server.pid;
    await server.killServer();
    assert.ok(pid !== undefined && !isAlive(pid));
    await server.startServer();
    const rows = await waitFor(() => db.query('SELECT process_id FROM PROCESE'), {
      timeoutMs: 10_000,
      message: 'queries work after crash recovery',
    });
    assert.deepEqual(rows, [{ process_id: 1 }]);
  });

  test('uses SMGR_TEST_MYSQL_URL as given, and neither stops nor restarts that server', async () => {
    const external = await withEnv('SMGR_TEST_MYSQL_URL', server.url, () => startMariaDb());
    assert.equal(external.external, true);
    assert.equal(external.port, server.port);
    assert.equal(external.user, server.user);
    assert.equal(external.password, server.password);
    assert.equal(external.dir, undefined);
    await assert.rejects(external.stopServer(), /SMGR_TEST_MYSQL_URL/);
    await assert.rejects(external.startServer(), /SMGR_TEST_MYSQL_URL/);
    const db = await createTestDatabase(external);
    await db.drop();
    await external.stop();
    assert.equal(await selectOne(server.url), 1, 'the server is still up');
  });

  test('rejects an SMGR_TEST_MYSQL_URL that is not a mysql:// URL', async () => {
    await assert.rejects(
      withEnv('SMGR_TEST_MYSQL_URL', 'postgres://u@h:1', () => startMariaDb()),
      /must start with mysql:\/\//,
    );
  });
});

describe('createTestDatabase', () => {
  test('loads the seed schema from sql/setup.sql into a uniquely named database with no rows', async (t) => {
    const db = await testDatabase(t);
    assert.match(db.name, /^smgr_t_[0-9a-f]{16}$/);
    assert.equal(db.url, `${server.url}/${db.name}`);

    const columns = await db.query<{ t: string; c: string; type: string; nullable: string; def: string | null; key: string }>(
      `SELECT TABLE_NAME t, COLUMN_NAME c, COLUMN_TYPE type, IS_NULLABLE nullable, COLUMN_DEFAULT def, COLUMN_KEY \`key\`
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [db.name],
    );
    assert.deepEqual(
      // Normalised across servers: MariaDB says int(11) and default 'NULL', MySQL 8 int and null.
      columns.map((r) => [
        r.t,
        r.c,
        r.type.startsWith('varchar') ? r.type : r.type.replace(/\(\d+\)$/, ''),
        r.nullable,
        r.def === 'NULL' ? null : r.def,
        r.key,
      ]),
      [
        ['PROCESE', 'process_id', 'int', 'NO', null, 'PRI'],
        ['PROCESE', 'process_name', 'varchar(100)', 'NO', null, ''],
        ['STATUS_PROCESS', 'process_id', 'int', 'NO', null, 'PRI'],
        ['STATUS_PROCESS', 'alarma', 'tinyint', 'NO', '0', ''],
        ['STATUS_PROCESS', 'sound', 'tinyint', 'NO', '0', ''],
        ['STATUS_PROCESS', 'notes', 'varchar(100)', 'YES', null, ''],
      ],
    );
    const engines = await db.query<{ n: string; e: string; coll: string }>(
      'SELECT TABLE_NAME n, ENGINE e, TABLE_COLLATION coll FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY n',
      [db.name],
    );
    for (const row of engines) {
      assert.equal(row.e, 'InnoDB', row.n);
      assert.match(row.coll, /^utf8mb4_/, row.n);
    }
    assert.deepEqual(await db.query('SELECT * FROM PROCESE'), []);
    assert.deepEqual(await db.query('SELECT * FROM STATUS_PROCESS'), []);
  });

  test('accepts the writes of legacy seed clients and enforces the foreign key', async (t) => {
    const db = await testDatabase(t);
    await db.exec('INSERT INTO PROCESE VALUES (1, ?), (2, ?)', ['nginx', 'mysqld']);
    await db.exec('INSERT INTO STATUS_PROCESS VALUES (1, 0, 0, NULL)');
    await db.exec('INSERT INTO STATUS_PROCESS (process_id) VALUES (2)');
    const result = await db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 1');
    assert.equal(result.affectedRows, 1);
    assert.deepEqual(await db.query('SELECT process_id, alarma, sound, notes FROM STATUS_PROCESS ORDER BY process_id'), [
      { process_id: 1, alarma: 1, sound: 0, notes: null },
      { process_id: 2, alarma: 0, sound: 0, notes: null },
    ]);
    await assert.rejects(db.exec('INSERT INTO STATUS_PROCESS (process_id) VALUES (99)'), { code: 'ER_NO_REFERENCED_ROW_2' });
  });

  test('gives every call its own database, and an empty one with seed: false', async (t) => {
    const a = await testDatabase(t);
    const b = await testDatabase(t, { seed: false });
    assert.notEqual(a.name, b.name);
    await a.exec('INSERT INTO PROCESE VALUES (1, ?)', ['only-in-a']);
    assert.deepEqual(await b.query('SHOW TABLES'), []);
    assert.deepEqual(await a.query('SELECT DATABASE() AS d'), [{ d: a.name }]);
  });

  test('drop removes the database and can be called twice', async () => {
    const db = await createTestDatabase(server);
    await db.drop();
    await db.drop();
    assert.deepEqual(await queryServer('SHOW DATABASES LIKE ?', [db.name]), []);
  });

  test('query resolves with rows, or [] for writes; exec resolves with the write result', async (t) => {
    const db = await testDatabase(t);
    assert.deepEqual(await db.query('INSERT INTO PROCESE VALUES (1, ?)', ['x']), []);
    const result = await db.exec('INSERT INTO PROCESE VALUES (2, ?), (3, ?)', ['y', 'z']);
    assert.equal(result.affectedRows, 2);
    assert.deepEqual(await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM PROCESE'), [{ n: 3 }]);
    await assert.rejects(db.exec('SELECT 1'), /use query\(\)/);
  });
});

describe('startRedis', () => {
  test('starts a throwaway server on a free loopback port that answers PING', async (t) => {
    assert.equal(redis.external, false);
    assert.ok(!SYSTEM_PORTS.includes(redis.port));
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    const client = new Redis(redis.url, { lazyConnect: true });
    t.after(() => client.disconnect());
    await client.connect();
    assert.equal(await client.ping(), 'PONG');
  });

  test('stopServer and startServer restart it on the same port with its data gone', async (t) => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => undefined); // reconnect noise while the server is down
    t.after(() => client.disconnect());
    const key = `${uniquePrefix('restart')}:k`;
    await client.set(key, 'v');
    const { port, pid } = redis;

    await redis.stopServer();
    assert.ok(pid !== undefined && !isAlive(pid));
    assert.equal(await tcpRefused(port), true);

    await redis.startServer();
    assert.equal(redis.port, port);
    assert.notEqual(redis.pid, pid);
    const value = await waitFor(async () => ({ v: await client.get(key) }), {
      timeoutMs: 10_000,
      message: 'the client reconnects to the restarted redis',
    });
    assert.equal(value.v, null, "--save '' loses data on restart");
  });

  test('uses SMGR_TEST_REDIS_URL as given, and neither stops nor restarts that server', async () => {
    const external = await withEnv('SMGR_TEST_REDIS_URL', redis.url, () => startRedis());
    assert.equal(external.external, true);
    assert.equal(external.url, redis.url);
    assert.equal(external.port, redis.port);
    await assert.rejects(external.stopServer(), /SMGR_TEST_REDIS_URL/);
    await external.stop();
    assert.equal(await tcpRefused(redis.port), false, 'the server is still up');
  });
});

describe('stop()', () => {
  test('leaves no server process, listening port or temp dir behind', async () => {
    const [m, r] = await Promise.all([startMariaDb(), startRedis()]);
    const servers = [
      { name: 'mariadb', pid: m.pid, port: m.port, dir: m.dir, stop: () => m.stop() },
      { name: 'redis', pid: r.pid, port: r.port, dir: r.dir, stop: () => r.stop() },
    ];
    for (const s of servers) {
      assert.ok(s.pid !== undefined && isAlive(s.pid), `${s.name} runs`);
      assert.ok(s.dir !== undefined && existsSync(s.dir), `${s.name} has a temp dir`);
    }
    for (const s of servers) {
      await s.stop();
      await s.stop(); // idempotent
      assert.equal(isAlive(s.pid ?? -1), false, `${s.name} pid ${s.pid} is gone`);
      assert.equal(existsSync(s.dir ?? '/nonexistent'), false, `${s.name} dir ${s.dir} is removed`);
      assert.equal(await tcpRefused(s.port), true, `${s.name} port ${s.port} is closed`);
    }
    await assert.rejects(m.startServer(), /after stop/);
  });
});

describe('safety net', () => {
  const fixture = fileURLToPath(new URL('../packages/testing/src/harness/fixtures/leaky-child.ts', import.meta.url));

  for (const mode of ['exit', 'throw', 'signal'] as const) {
    test(`kills the servers and processes of a test file that dies by ${mode}, and removes its temp dirs`, async (t) => {
      const c = useCleanup(t);
      const child = ManagedProcess.start(process.execPath, ['--import', 'tsx', fixture, mode], {
        name: `leaky-${mode}`,
        stdin: 'pipe',
      });
      c.add(() => child.stop('SIGKILL'), 'fixture');
      const report = await child.waitForLine((_, json) => Array.isArray(json?.pids), 20_000, 'the fixture reports its pids');
      const { pids, dirs } = report.json as { pids: number[]; dirs: string[] };
      assert.equal(pids.length, 2);
      for (const pid of pids) assert.ok(isAlive(pid), `pid ${pid} runs before the crash`);
      if (mode === 'signal') process.kill(child.pid ?? -1, 'SIGTERM');
      else child.stdin?.end('die\n');
      const status = await child.exited;
      assert.notEqual(status.code, 0, JSON.stringify(status));
      for (const pid of pids) {
        await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, message: `pid ${pid} to die` });
      }
      for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
    });
  }
});

describe('small helpers', () => {
  test('uniquePrefix is unique per call and safe in Redis key patterns', () => {
    const a = uniquePrefix('Alarm: restart*');
    const b = uniquePrefix('Alarm: restart*');
    assert.notEqual(a, b);
    assert.match(a, /^smgr-t-alarm-restart-[0-9a-f]{8}$/);
  });

  test('freePort returns a port that can be bound', async () => {
    const port = await freePort();
    assert.ok(port > 0 && !SYSTEM_PORTS.includes(port));
    assert.equal(await tcpRefused(port), true);
  });

  test('makeTempDir creates a directory that remove() deletes', async () => {
    const dir = await makeTempDir('helper test');
    assert.ok(existsSync(dir.path));
    assert.match(dir.path, /smgr-helper-test-/);
    await dir.remove();
    await dir.remove();
    assert.equal(existsSync(dir.path), false);
  });
});
