/**
 * An agent that is not root (docs/agent-privileges.md): what it cannot do
 * fails at once with a reason that says so, and nothing is left half-done.
 * The engine (compiled JS, as the daemon runs it) runs as `nobody`.
 * An agent that is root starts a service with `user =` as that user, which
 * cannot read the agent's TLS key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, chmodSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { makeTempDir, useCleanup } from '@smgr/testing';
import { ROOT } from '@smgr/testing/smgr';
import { runningSample, startEngine } from '@smgr/testing/agent-engine';
import { findPids } from '@smgr/testing/procs';
import { engineOnSleeper } from './support-agent-services.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/**
 * `nobody` runs the compiled checkout: every directory above it must let
 * others through (a checkout under a 0700 `mktemp -d` does not). Search
 * permission is added where it is missing for these tests and taken back after.
 */
const widened: { dir: string; mode: number }[] = [];
before(() => {
  if (!isRoot) return;
  for (let dir = ROOT; ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      widened.push({ dir, mode });
    }
    if (dirname(dir) === dir) break;
  }
});
after(() => {
  for (const { dir, mode } of widened.reverse()) chmodSync(dir, mode);
});

/** Runs one job in an engine running as uid/gid `uid`; resolves with the result's message and outcome. */
async function runAs(
  uid: number,
  dir: string,
  config: string,
  operation: Operation,
  service: string,
): Promise<{ outcome: number; message: string; steps: { name: string; error: string }[] }> {
  const script = join(dir, 'run-job.mjs');
  await writeFile(
    script,
    `import { loadConfig, createLogger, create, JobRequestSchema } from ${JSON.stringify(join(ROOT, 'packages/shared/dist/index.js'))};
import { createEngine } from ${JSON.stringify(join(ROOT, 'services/agent/dist/engine.js'))};
const config = loadConfig({ file: ${JSON.stringify(config)}, env: {} });
const log = await createLogger({ name: 'agent', level: 'silent', maxLogSizeBytes: 1 << 20, logFilesToKeep: 1 });
const { runner } = createEngine(config, log);
const r = await runner.handle(create(JobRequestSchema, { jobId: 'j-1', operation: ${operation}, service: ${JSON.stringify(service)} }));
process.stdout.write(JSON.stringify({ outcome: r.outcome, message: r.message, steps: r.steps.map((s) => ({ name: s.name, error: s.error })) }));
`,
  );
  const child = spawn(process.execPath, [script], { uid, gid: uid, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `the engine ran: ${err}`);
  return JSON.parse(out) as { outcome: number; message: string; steps: { name: string; error: string }[] };
}

test('a non-root agent may not signal another user’s process: the stop fails saying EPERM and the process keeps running', {
  skip: isRoot ? false : 'needs root to run the engine as nobody',
}, async (t) => {
  const cleanup = useCleanup(t);
  const { name, start, pid, dir } = await runningSample(cleanup, 'root');
  await chmod(dir, 0o777);
  const config = join(dir, 'agent.ini');
  await writeFile(
    config,
    `[agent]\nhost_id = nobody-host\nstate_dir = ${join(dir, 'state')}\n[tls]\ninsecure = true\n[process.${name}]\nrestart_strategy = process\nstart_command = ${start}\nstop_timeout = 0.2\nhealth_check_timeout = 0.5\n`,
  );
  await chmod(config, 0o644);

  const r = await runAs(NOBODY, dir, config, Operation.STOP, name);

  assert.equal(r.outcome, Outcome.FAILED);
  assert.match(
    r.message,
    new RegExp(`^stop failed: not permitted to signal pid ${pid} \\(EPERM: the agent runs as uid ${NOBODY}; see docs/agent-privileges.md\\)$`),
  );
  assert.deepEqual(findPids(name), [pid], 'the service keeps running');
});

/** The Uid, Gid and Groups lines of /proc/PID/status. */
function ids(pid: number): { uid: string; gid: string; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = (key: string) =>
    (status.split('\n').find((l) => l.startsWith(`${key}:`)) ?? '')
      .slice(key.length + 1)
      .trim()
      .split(/\s+/)
      .join(' ');
  return { uid: line('Uid'), gid: line('Gid'), groups: line('Groups') };
}

const show = (steps: readonly { name: string; exitCode: number; error: string; outputTail: string }[]) =>
  steps.map((x) => `${x.name}: exit ${x.exitCode} ${x.error} ${x.outputTail.trim()}`).join('\n');

/** A key file as the agent keeps it: 0600, owned by the agent's user (root here). */
async function agentKey(dir: string): Promise<string> {
  const key = join(dir, 'tls', 'agent.key');
  await mkdir(join(dir, 'tls'), { mode: 0o755 });
  await writeFile(key, '-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
  return key;
}

test('a service with user = nobody is started as nobody with no other group, and its hooks run as nobody', {
  skip: isRoot ? false : 'needs root to switch users',
}, async (t) => {
  const { svc, engine } = await engineOnSleeper(t, 'nob', {
    user: 'nobody',
    pre_restart_command: '/usr/bin/id -u',
    stop_timeout: 0.2,
    health_check_timeout: 2,
  });
  await chmod(svc.dir, 0o755);
  const { name } = svc;

  const r = await engine.run(Operation.RESTART, name);

  assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
  const [pid] = findPids(name);
  assert.ok(pid, `${name} runs`);
  assert.deepEqual(ids(pid), { uid: `${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`, gid: `${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}`, groups: '' });
  const hook = r.steps.find((s) => s.name === 'pre_restart');
  assert.equal(hook?.outputTail.trim(), String(NOBODY), 'the pre_restart hook ran as nobody');
});

test('a service started as another user cannot read the agent’s TLS key; started as the agent it could', {
  skip: isRoot ? false : 'needs root to switch users',
}, async (t) => {
  const cleanup = useCleanup(t);
  const dir = await makeTempDir('runas-key', cleanup);
  await chmod(dir.path, 0o755);
  const key = await agentKey(dir.path);
  // A "service" that reads the key and exits: its start fails at once when the read fails.
  // Its name never runs, so the default check (pgrep -x NAME) says down and START runs the command.
  const reader = { restart_strategy: 'process', start_command: `/bin/cat ${key}`, health_check_timeout: 0.5 };
  const engine = await startEngine(cleanup, { 'key-reader-nobody': { ...reader, user: 'nobody' }, 'key-reader-agent': reader });

  const denied = await engine.run(Operation.START, 'key-reader-nobody');
  const start = denied.steps.find((s) => s.name === 'start');
  assert.equal(start?.exitCode, 1, show(denied.steps));
  assert.match(start?.outputTail ?? '', /Permission denied/);
  assert.doesNotMatch(start?.outputTail ?? '', /BEGIN PRIVATE KEY/);

  // The control: without user =, the same command reads it (so the refusal above is the user switch).
  const allowed = (await engine.run(Operation.START, 'key-reader-agent')).steps.find((s) => s.name === 'start');
  assert.equal(allowed?.exitCode, 0, show(allowed ? [allowed] : []));
});

test('a non-root agent with user = set exits 78 naming the key and why', { skip: isRoot ? false : 'needs root to run the agent as nobody' }, async (t) => {
  const cleanup = useCleanup(t);
  const dir = await makeTempDir('runas-nonroot', cleanup);
  await chmod(dir.path, 0o777);
  const config = join(dir.path, 'agent.ini');
  await writeFile(
    config,
    `[agent]\ncontroller = 127.0.0.1:9\nhost_id = nobody-host\nstate_dir = ${join(dir.path, 'state')}\n[tls]\ninsecure = true\n[process.web]\nrestart_strategy = process\nstart_command = /bin/true\nuser = daemon\n`,
  );
  await chmod(config, 0o644);
  const child = spawn(process.execPath, [join(ROOT, 'services/agent/dist/main.js'), '--config', config], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: dir.path,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanup.add(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 78, output);
  assert.match(output, /process\.web\.user/);
  assert.match(output, /runs as uid 65534, not root, so it cannot start commands as another user/);
});
