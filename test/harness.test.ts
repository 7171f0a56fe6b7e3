/**
 * Tests of the test harness itself, against real MariaDB and Redis servers.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import {
  Cleanup,
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
} from '@smgr/testing';

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

/** Alive means a process that is not a zombie: a reaped or zombie PID has stopped doing anything. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

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

async function selectOne(url: string): Promise<number> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: 2_000 });
  try {
    const [rows] = await conn.query('SELECT 1 AS one');
    return (rows as { one: number }[])[0]?.one ?? 0;
  } finally {
    conn.destroy();
  }
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
    const conn = await mysql.createConnection({ uri: server.url });
    try {
      const [rows] = await conn.query('SELECT VERSION() AS v');
      assert.match((rows as { v: string }[])[0]?.v ?? '', /MariaDB/);
    } finally {
      await conn.end();
    }
  });

  test('stopServer refuses connections until startServer brings it back on the same port with its data', async (t) => {
    const c = useCleanup(t);
    const db = await createTestDatabase(server);
    c.add(() => db.drop(), 'database');
    await db.exec('INSERT INTO PROCESE VALUES (7, ?)', ['survivor']);
    const { port, pid } = server;
    assert.ok(pid !== undefined && isRunning(pid));

    await server.stopServer();
    assert.equal(server.pid, undefined);
    assert.equal(isRunning(pid), false, 'the old mariadbd is gone');
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
    const c = useCleanup(t);
    const db = await createTestDatabase(server);
    c.add(() => db.drop(), 'database');
    await db.exec('INSERT INTO PROCESE VALUES (1, ?)', ['committed']);
    const pid = server.pid;
    await server.killServer();
    assert.ok(pid !== undefined && !isRunning(pid));
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
    const c = useCleanup(t);
    const db = await createTestDatabase(server);
    c.add(() => db.drop(), 'database');
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
    const c = useCleanup(t);
    const db = await createTestDatabase(server);
    c.add(() => db.drop(), 'database');
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
    const c = useCleanup(t);
    const a = await createTestDatabase(server);
    c.add(() => a.drop(), 'a');
    const b = await createTestDatabase(server, { seed: false });
    c.add(() => b.drop(), 'b');
    assert.notEqual(a.name, b.name);
    await a.exec('INSERT INTO PROCESE VALUES (1, ?)', ['only-in-a']);
    assert.deepEqual(await b.query('SHOW TABLES'), []);
    assert.deepEqual(await a.query('SELECT DATABASE() AS d'), [{ d: a.name }]);
  });

  test('drop removes the database and can be called twice', async () => {
    const db = await createTestDatabase(server);
    await db.drop();
    await db.drop();
    const conn = await mysql.createConnection({ uri: server.url });
    try {
      const [rows] = await conn.query('SHOW DATABASES LIKE ?', [db.name]);
      assert.deepEqual(rows, []);
    } finally {
      await conn.end();
    }
  });

  test('query resolves with rows, or [] for writes; exec resolves with the write result', async (t) => {
    const c = useCleanup(t);
    const db = await createTestDatabase(server);
    c.add(() => db.drop(), 'database');
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
    assert.ok(pid !== undefined && !isRunning(pid));
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
      assert.ok(s.pid !== undefined && isRunning(s.pid), `${s.name} runs`);
      assert.ok(s.dir !== undefined && existsSync(s.dir), `${s.name} has a temp dir`);
    }
    for (const s of servers) {
      await s.stop();
      await s.stop(); // idempotent
      assert.equal(isRunning(s.pid ?? -1), false, `${s.name} pid ${s.pid} is gone`);
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
      for (const pid of pids) assert.ok(isRunning(pid), `pid ${pid} runs before the crash`);
      if (mode === 'signal') process.kill(child.pid ?? -1, 'SIGTERM');
      else child.stdin?.end('die\n');
      const status = await child.exited;
      assert.notEqual(status.code, 0, JSON.stringify(status));
      for (const pid of pids) {
        await waitFor(() => !isRunning(pid), { timeoutMs: 5_000, message: `pid ${pid} to die` });
      }
      for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
    });
  }
});

describe('waitFor', () => {
  test('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { timeoutMs: 2_000, intervalMs: 5, message: 'three calls' });
    assert.deepEqual(value, { calls: 3 });
  });

  test('treats throws as not yet and quotes the last one when it times out', async () => {
    let calls = 0;
    await assert.rejects(
      waitFor(
        () => {
          calls += 1;
          throw new Error(`attempt ${calls} failed`);
        },
        { timeoutMs: 200, intervalMs: 20, message: 'the impossible', context: () => 'extra context' },
      ),
      (err: Error) => {
        assert.match(err.message, /^timed out after 200ms waiting for: the impossible/);
        assert.match(err.message, new RegExp(`last error: Error: attempt ${calls} failed`));
        assert.match(err.message, /extra context/);
        return true;
      },
    );
  });

  test('does not hang on an attempt that never settles', async () => {
    const t0 = Date.now();
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 150, message: 'a hung call' }),
      /timed out after 150ms waiting for: a hung call/,
    );
    assert.ok(Date.now() - t0 < 2_000);
  });
});

describe('ManagedProcess', () => {
  const node = process.execPath;

  test('keeps stdout and stderr as lines, parses JSON lines, and writes a log file', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      [
        '-e',
        `console.log('plain line'); console.error('to stderr');
         console.log(JSON.stringify({ level: 30, msg: 'ready', port: 1234 }));
         process.stdout.write('no newline at end')`,
      ],
      { name: 'printer', env: { SMGR_TEST_MARKER: 'x' } },
    );
    c.add(() => p.stop(), 'printer');
    const status = await p.exited;
    assert.deepEqual(status, { code: 0, signal: null });
    assert.deepEqual([...p.lines()].sort(), ['no newline at end', 'plain line', 'to stderr', '{"level":30,"msg":"ready","port":1234}'].sort());
    assert.deepEqual(p.jsonLines(), [{ level: 30, msg: 'ready', port: 1234 }]);
    assert.equal(p.lineCount(), 4);
    const log = readFileSync(p.logPath, 'utf8');
    assert.match(log, /plain line/);
    assert.match(log, /exit: code=0/);
    const found = await p.waitForLine((_, j) => j?.msg === 'ready', 100, 'an existing line');
    assert.equal(found.json?.port, 1234);
  });

  test('waitForLine waits for lines still to come, from a given index on', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(node, ['-e', `let n = 0; const i = setInterval(() => { console.log('tick ' + ++n); if (n === 5) clearInterval(i); }, 30)`], {
      name: 'ticker',
    });
    c.add(() => p.stop(), 'ticker');
    const first = await p.waitForLine((l) => l.startsWith('tick'), 5_000, 'any tick');
    assert.equal(first.line, 'tick 1');
    const later = await p.waitForLine((l) => l.startsWith('tick'), 5_000, 'a tick after the first', first.index + 1);
    assert.equal(later.line, 'tick 2');
    await p.waitForLine((l) => l === 'tick 5', 5_000, 'the last tick');
  });

  test('waitForLine fails with the output tail on timeout and when the process exits first', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(node, ['-e', `for (let i = 0; i < 60; i++) console.log('line ' + i); setTimeout(() => process.exit(4), 300)`], {
      name: 'quitter',
    });
    c.add(() => p.stop(), 'quitter');
    await p.waitForLine((l) => l === 'line 59', 5_000, 'all lines');
    await assert.rejects(
      p.waitForLine((l) => l === 'never', 100, 'a line that never comes'),
      (err: Error) => {
        assert.match(err.message, /quitter: timed out after 100ms waiting for: a line that never comes/);
        assert.match(err.message, /last 40 lines of quitter/);
        assert.match(err.message, /line 59/);
        assert.doesNotMatch(err.message, /line 19\n/);
        return true;
      },
    );
    await assert.rejects(
      p.waitForLine((l) => l === 'never', 10_000, 'a line before exit'),
      /exited before printing: a line before exit[\s\S]*exited code=4/,
    );
  });

  test('stop sends SIGTERM, then SIGKILL to a process that ignores it, and removes its log dir', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      ['-e', `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)`],
      { name: 'stubborn' },
    );
    c.add(() => p.stop('SIGKILL'), 'stubborn');
    await p.waitForLine((l) => l === 'ready', 5_000, 'ready');
    const status = await p.stop('SIGTERM', 300);
    assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
    assert.ok(p.lines().includes('ignoring SIGTERM'));
    assert.equal(p.running, false);
    assert.equal(existsSync(p.logPath), false);
  });

  test('stop signals only its own PID and returns even while a grandchild holds its stdout', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      [
        '-e',
        `const { spawn } = require('node:child_process');
         const g = spawn('sleep', ['60'], { stdio: 'inherit' });
         console.log(JSON.stringify({ grandchild: g.pid }));
         setInterval(() => {}, 1000)`,
      ],
      { name: 'parent' },
    );
    const line = await p.waitForLine((_, j) => typeof j?.grandchild === 'number', 5_000, 'the grandchild pid');
    const grandchild = line.json?.grandchild as number;
    c.add(() => {
      if (isRunning(grandchild)) process.kill(grandchild, 'SIGKILL');
    }, 'grandchild');
    c.add(() => p.stop(), 'parent');
    const status = await p.stop('SIGTERM', 5_000);
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(isRunning(grandchild), true, 'the grandchild was not signalled');
  });

  test('kill9 kills at once and reports the signal', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start('sleep', ['60'], { name: 'sleeper' });
    c.add(() => p.stop(), 'sleeper');
    assert.ok(p.pid !== undefined && isRunning(p.pid));
    assert.deepEqual(await p.kill9(), { code: null, signal: 'SIGKILL' });
  });

  test('a command that does not exist surfaces through exited and waitForLine', async () => {
    const p = ManagedProcess.start('/nonexistent/smgr-binary', [], { name: 'ghost' });
    const status = await p.exited;
    assert.equal(status.code, null);
    assert.match(status.error?.message ?? '', /ENOENT/);
    await assert.rejects(
      p.waitForLine(() => true, 1_000, 'anything'),
      /ghost: exited before printing/,
    );
    await p.stop();
  });
});

describe('Cleanup', () => {
  test('runs cleanups newest first, runs all of them when some fail, then reports every failure', async () => {
    const ran: string[] = [];
    const cleanup = new Cleanup();
    cleanup.add(() => void ran.push('first'), 'first');
    cleanup.add(() => {
      ran.push('second');
      throw new Error('boom 2');
    }, 'second');
    cleanup.add(async () => {
      ran.push('third');
      throw new Error('boom 3');
    }, 'third');
    await assert.rejects(cleanup.run(), (err: AggregateError) => {
      assert.ok(err instanceof AggregateError);
      assert.equal(err.errors.length, 2);
      assert.match(err.message, /cleanup "third" failed: boom 3/);
      assert.match(err.message, /cleanup "second" failed: boom 2/);
      return true;
    });
    assert.deepEqual(ran, ['third', 'second', 'first']);
    assert.equal(cleanup.size, 0);
    await cleanup.run(); // nothing left to run
  });
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
