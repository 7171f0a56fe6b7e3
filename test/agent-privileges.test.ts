/**
 * An agent that is not root (docs/agent-privileges.md): what it cannot do
 * fails at once with a reason that says so, and nothing is left half-done.
 * The engine (compiled JS, as the daemon runs it) runs as `nobody`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { makeTempDir, ManagedProcess, useCleanup, waitFor } from './harness/index.js';
import { ROOT, uniqueServiceName } from './support/smgr.js';
import { installSleeper } from './support/agent-engine.js';
import { findPids, killAll } from './support/procs.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

/** Runs one job in an engine running as uid/gid `uid`; resolves with the result's message and outcome. */
async function runAs(uid: number, dir: string, config: string, operation: Operation, service: string): Promise<{ outcome: number; message: string; steps: { name: string; error: string }[] }> {
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

test('a non-root agent may not signal another user’s process: the stop fails saying EPERM and the process keeps running', { skip: isRoot ? false : 'needs root to run the engine as nobody' }, async (t) => {
  const cleanup = useCleanup(t);
  const dir = await makeTempDir('priv');
  cleanup.add(() => dir.remove());
  await chmod(dir.path, 0o777);
  const name = uniqueServiceName('root');
  cleanup.add(() => killAll(name));
  const { path, start } = await installSleeper(dir.path, name);
  const svc = ManagedProcess.start(path, ['infinity'], { name });
  cleanup.add(() => svc.stop());
  await waitFor(() => findPids(name).length === 1, { timeoutMs: 5_000, message: 'root service running' });
  const config = join(dir.path, 'agent.ini');
  await writeFile(
    config,
    `[agent]\nhost_id = nobody-host\nstate_dir = ${join(dir.path, 'state')}\n[tls]\ninsecure = true\n[process.${name}]\nrestart_strategy = process\nstart_command = ${start}\nstop_timeout = 0.2\nhealth_check_timeout = 0.5\n`,
  );
  await chmod(config, 0o644);

  const r = await runAs(NOBODY, dir.path, config, Operation.STOP, name);

  assert.equal(r.outcome, Outcome.FAILED);
  const [pid] = findPids(name);
  assert.match(r.message, new RegExp(`^stop failed: not permitted to signal pid ${pid} \\(EPERM: the agent runs as uid ${NOBODY}; see docs/agent-privileges.md\\)$`));
  assert.equal(svc.running, true);
});
