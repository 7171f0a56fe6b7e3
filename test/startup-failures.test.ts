/**
 * The daemons' start-up contract (DESIGN.md, Commands): every failure to
 * start ends the process with one plain stderr line naming the key and the
 * fix, and the exit code — 78 for configuration (refused credentials, a
 * listen address in use, an unreadable file), 69 for a dependency still down
 * after the retry window the log announced. Never 0, never a hang, never a
 * stack trace or a JSON line on stderr.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { initCa, issueCert } from '@smgr/shared/pki';
import { Cleanup, freePort, startMariaDb, startRedis, type MariaDbInstance, type RedisInstance } from '@smgr/testing';
import { AGENT_MAIN, CONTROLLER_MAIN, waitForLog } from '@smgr/testing/smgr';
import { chaosEnv, controllerSections, countLogs, startDaemon, writeIni, type ChaosEnv, type Sections } from '@smgr/testing/chaos';

interface Ended {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Generous: the bound is there so a daemon that hangs (the old bug) fails the test instead of blocking it. */
const MUST_EXIT_WITHIN_MS = 90_000;

/** Runs a daemon until it exits on its own; SIGKILLs it (by PID) and fails if it does not within the bound. */
function runToExit(main: string, config: string): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SMGR_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${main} still running after ${MUST_EXIT_WITHIN_MS} ms (it must exit on a failed start)\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, MUST_EXIT_WITHIN_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A readable file (the start-up checks look at existence and readability before any PEM is parsed). */
async function placeholder(env: { dir: string }, name: string): Promise<string> {
  const path = join(env.dir, name);
  writeFileSync(path, '-----BEGIN PLACEHOLDER-----\n');
  return path;
}

/** The contract on stderr: exactly one line, plain text, no stack frames, no JSON; returns it. */
function assertOnePlainLine(r: Ended, name: string): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith(`${name}: `), `the line names the binary: ${line}`);
  assert.doesNotMatch(line, /^\s*\{/, 'not JSON');
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(r.stdout, /"stack"/, 'no stack trace in the log at info level');
  return line;
}

const files = new Cleanup();
let mysql: MariaDbInstance;
let redis: RedisInstance;
let env: ChaosEnv;
before(async () => {
  [mysql, redis] = await Promise.all([startMariaDb(), startRedis()]);
  files.add(() => Promise.allSettled([mysql.stop(), redis.stop()]), 'servers');
  env = await chaosEnv(files, mysql, redis, 'startup');
});
after(() => files.run());

/** A controller config on the test's servers with a short retry window, changed by `more`. */
async function controllerConfig(file: string, more: Sections = {}): Promise<string> {
  const base = controllerSections(env, {
    id: 'ctl-startup',
    grpcListen: '127.0.0.1:0',
    more: { controller: { startup_timeout: 5 }, logging: { level: 'info' } },
  });
  for (const [section, keys] of Object.entries(more)) base[section] = { ...base[section], ...keys };
  return writeIni(env, file, base);
}

/** A port with nothing listening on it (it was free a moment ago). */
const deadPort = freePort;

/** A TCP listener the test owns, holding a port. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  // Accepted connections are held open and never answered; close() waits for them, so they are destroyed first.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  files.add(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  }, 'held port');
  return { port: (server.address() as { port: number }).port, server };
}

describe('controller start-up failures', () => {
  test('a second controller with the same controller.id on the same database and Redis: exit 78 naming controller.id; the first runs on', async () => {
    const first = startDaemon('controller', await controllerConfig('dup-1.ini', { controller: { id: 'ctl-dup' } }), 'ctl-dup-1');
    files.add(() => first.stop(), 'first ctl-dup');
    await waitForLog(first, 'controller running', 60_000);
    const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('dup-2.ini', { controller: { id: 'ctl-dup' } }));
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, /dup-2\.ini: controller\.id = "ctl-dup": another controller with this id is running \(host .+, pid (\d+)\)/);
    assert.equal(Number(/pid (\d+)/.exec(line)![1]), first.pid, 'it names the running one');
    assert.ok(first.running, 'the first controller runs on');
    assert.equal(countLogs(first, 'another process claimed this controller id; give every controller its own [controller] id'), 0);

    // A controller killed without a chance to let the id go: its successor on this host starts at once.
    await first.kill9();
    const next = startDaemon('controller', await controllerConfig('dup-3.ini', { controller: { id: 'ctl-dup' } }), 'ctl-dup-3');
    files.add(() => next.stop(), 'next ctl-dup');
    await waitForLog(next, 'controller running', 60_000);
    assert.equal(countLogs(next, 'controller id still claimed; waiting to see whether its holder is alive'), 0);
  });

  test('Redis down: the log announces the retry window, then exit 69 naming the address and redis.url', async () => {
    const port = await deadPort();
    const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('redis-down.ini', { redis: { url: `redis://127.0.0.1:${port}` } }));
    assert.equal(r.code, 69, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} \\(redis\\.url\\) is unreachable: connection refused`));
    assert.match(line, /fix redis\.url/);
    assert.equal(line.match(/ECONNREFUSED|connection refused/g)?.length, 1, `said once: ${line}`);
    assert.match(r.stdout, new RegExp(`waiting up to 5 s for Redis at 127\\.0\\.0\\.1:${port}`));
  });

  test('a Redis address that accepts connections and never answers: exit 69 when the window ends, not later', async () => {
    const { port } = await holdPort();
    const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('redis-silent.ini', { redis: { url: `redis://127.0.0.1:${port}` } }));
    assert.equal(r.code, 69, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} \\(redis\\.url\\) is unreachable`));
  });

  test('MySQL down: exit 69 naming the address and database.host/database.port', async () => {
    const port = await deadPort();
    const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('mysql-down.ini', { database: { port } }));
    assert.equal(r.code, 69, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, new RegExp(`MySQL at 127\\.0\\.0\\.1:${port} \\(database\\.host, database\\.port\\) is unreachable: connection refused`));
    assert.match(r.stdout, /waiting up to 5 s for MySQL/);
  });

  test('a wrong MySQL password: exit 78 at once (no retrying) naming database.user and database.password', async () => {
    // A long window: a retry would show as a "waiting up to 120 s" line.
    const r = await runToExit(
      CONTROLLER_MAIN,
      await controllerConfig('mysql-password.ini', { database: { password: 'not-the-password' }, controller: { startup_timeout: 120 } }),
    );
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, /database\.user/);
    assert.match(line, /database\.password/);
    assert.match(line, /Access denied/);
    assert.ok(!r.stderr.includes('not-the-password') && !r.stdout.includes('not-the-password'), 'the password is never shown');
    assert.doesNotMatch(r.stdout, /waiting up to/);
  });

  describe('Redis that wants a password', () => {
    let locked: RedisInstance;
    const secret = `pw-${Math.random().toString(16).slice(2)}`;
    before(async () => {
      locked = await startRedis();
      files.add(() => locked.stop(), 'password redis');
      const admin = new Redis(locked.url);
      await admin.config('SET', 'requirepass', secret);
      admin.disconnect();
    });

    test('no password in redis.url (NOAUTH): exit 78 at once naming redis.url', async () => {
      const r = await runToExit(
        CONTROLLER_MAIN,
        await controllerConfig('redis-noauth.ini', { redis: { url: locked.url }, controller: { startup_timeout: 120 } }),
      );
      assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
      const line = assertOnePlainLine(r, 'smgr-controller');
      assert.match(line, /redis\.url/);
      assert.match(line, /requires a password/);
      assert.doesNotMatch(r.stdout, /waiting up to/);
    });

    test('a wrong password in redis.url (WRONGPASS): exit 78 naming redis.url, the password never shown', async () => {
      const url = `redis://:wrong-${secret}@127.0.0.1:${locked.port}`;
      const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('redis-wrongpass.ini', { redis: { url }, controller: { startup_timeout: 120 } }));
      assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
      const line = assertOnePlainLine(r, 'smgr-controller');
      assert.match(line, /redis\.url/);
      assert.ok(!r.stderr.includes(`wrong-${secret}`) && !r.stdout.includes(`wrong-${secret}`), 'the password is never shown');
    });
  });

  test('the API port in use: exit 78 naming controller.api_listen and the address', async () => {
    const { port } = await holdPort();
    const r = await runToExit(
      CONTROLLER_MAIN,
      await controllerConfig('api-port.ini', { api: { enabled: true, insecure: true }, controller: { api_listen: `127.0.0.1:${port}` } }),
    );
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, new RegExp(`controller\\.api_listen = "127\\.0\\.0\\.1:${port}"`));
    assert.match(line, /already in use/);
    assert.doesNotMatch(line, /EADDRINUSE.*EADDRINUSE/);
  });

  test('the gRPC port in use: exit 78 naming controller.grpc_listen and the address', async () => {
    const { port } = await holdPort();
    const r = await runToExit(CONTROLLER_MAIN, await controllerConfig('grpc-port.ini', { controller: { grpc_listen: `127.0.0.1:${port}` } }));
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-controller');
    assert.match(line, new RegExp(`controller\\.grpc_listen = "127\\.0\\.0\\.1:${port}"`));
    assert.match(line, /already in use/);
  });
});

describe('agent start-up failures', () => {
  test('a TLS certificate file that cannot be read: exit 78 naming tls.cert and the file, no stack trace', async () => {
    const missing = join(env.dir, 'no-such-cert.pem');
    const config = await writeIni(env, 'agent-missing-cert.ini', {
      agent: { controller: '127.0.0.1:1', host_id: 'h1', state_dir: join(env.dir, 'state-missing-cert') },
      // CA and key readable, the certificate missing: one problem, one line.
      tls: { ca: await placeholder(env, 'ca.pem'), cert: missing, key: await placeholder(env, 'agent.key') },
    });
    const r = await runToExit(AGENT_MAIN, config);
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-agent');
    assert.match(line, /tls\.cert = ".*no-such-cert\.pem": no such file/);
  });

  test('a tls.crl file that holds no CRL: exit 78 naming tls.crl (the CRL parser is loaded only for it)', async () => {
    const pki = join(env.dir, 'pki-crl');
    await initCa(pki);
    await issueCert(pki, 'h1', { role: 'agent' });
    const config = await writeIni(env, 'agent-bad-crl.ini', {
      agent: { controller: '127.0.0.1:1', host_id: 'h1', state_dir: join(env.dir, 'state-bad-crl') },
      // A certificate where the CRL should be: readable PEM, but no X509 CRL block.
      tls: { ca: join(pki, 'ca.pem'), cert: join(pki, 'h1.pem'), key: join(pki, 'h1.key'), crl: join(pki, 'ca.pem') },
    });
    const r = await runToExit(AGENT_MAIN, config);
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-agent');
    assert.match(line, /tls\.crl = ".*pki-crl\/ca\.pem": no "BEGIN X509 CRL" block in the file/);
  });

  test('a state directory that cannot be created: exit 78 naming agent.state_dir', async () => {
    const blocker = join(env.dir, 'a-file');
    writeFileSync(blocker, '');
    const config = await writeIni(env, 'agent-state-dir.ini', {
      agent: { controller: '127.0.0.1:1', host_id: 'h1', state_dir: join(blocker, 'state') },
      tls: { insecure: true },
    });
    const r = await runToExit(AGENT_MAIN, config);
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const line = assertOnePlainLine(r, 'smgr-agent');
    assert.match(line, /agent\.state_dir/);
    assert.match(line, /a-file is not a directory; create it/);
  });
});
