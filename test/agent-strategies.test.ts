import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { makeTempDir, useCleanup, waitFor, ManagedProcess } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { findPids, killAll } from '@smgr/testing/procs';
import { runningSample, startEngine, stepNames } from '@smgr/testing/agent-engine';
import { engineOnRunningSleeper } from './support-agent-services.js';

async function script(dir: string, file: string, body: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('process strategy', () => {
  test('restart stops the running process by exact name and starts a new one from start_command', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'proc', { restart_delay: 0 });

    const r = await engine.run(Operation.RESTART, svc.name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'process');
    assert.deepEqual(stepNames(r), ['stop', 'start', 'health_check']);
    const pids = findPids(svc.name);
    assert.equal(pids.length, 1, 'exactly one instance runs');
    assert.notEqual(pids[0], svc.pid);
    assert.match(r.message, new RegExp(`restarted by process strategy \\(pid ${svc.pid} -> ${pids[0]}\\), attempt 1`));
  });

  test('with a pidfile only the process it names is stopped, and one that ignores SIGTERM is killed after stop_timeout', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await makeTempDir('pidfile', cleanup);
    const name = uniqueServiceName('stub');
    cleanup.add(() => killAll(name));
    const pidfile = join(dir.path, 'svc.pid');
    // Ignores SIGTERM; its own child (sleep) does not.
    const daemon = await script(dir.path, name, `echo $$ > "$1"\ntrap '' TERM\nwhile :; do sleep 0.2; done`);
    const twin = ManagedProcess.start(daemon, [join(dir.path, 'twin.pid')], { name: 'twin' });
    cleanup.add(() => twin.kill9());
    const target = ManagedProcess.start(daemon, [pidfile], { name: 'target' });
    cleanup.add(() => target.kill9());
    await waitFor(async () => Number((await readFile(pidfile, 'utf8').catch(() => '')).trim()) === target.pid, {
      timeoutMs: 5_000,
      message: 'pidfile written by the target',
    });
    const engine = await startEngine(cleanup, {
      [name]: { restart_strategy: 'process', pidfile, stop_timeout: 0.5, assert_down_command: `/bin/sh -c "! kill -0 ${target.pid!}"` },
    });

    const r = await engine.run(Operation.STOP, name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    const stop = r.steps.find((s) => s.name === 'stop')!;
    assert.equal(stop.signal, 'SIGKILL', 'SIGTERM was ignored, so SIGKILL followed');
    assert.match(stop.outputTail, /SIGKILL after 500 ms/);
    assert.equal((await target.exited).signal, 'SIGKILL');
    assert.equal(twin.running, true, 'the process with the same name but not in the pidfile was left alone');
  });
});

describe('auto strategy', () => {
  test('without a unit of that name in the service manager it uses the process strategy and says so', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'auto', { restart_strategy: 'auto' });

    const r = await engine.run(Operation.RESTART, svc.name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'process');
    assert.match(r.message, /auto: no service unit .* used the process strategy/);
    assert.notEqual(findPids(svc.name)[0], svc.pid);
  });

  test('with service_manager = none it goes straight to the process strategy', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'none', { restart_strategy: 'auto', service_manager: 'none' });
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'process');
  });
});

describe('service strategy without a service manager', () => {
  test('fails with a clear reason and touches nothing', async (t) => {
    const cleanup = useCleanup(t);
    const svc = await runningSample(cleanup, 'nosm');
    const engine = await startEngine(cleanup, { [svc.name]: { restart_strategy: 'service', service_manager: 'none', max_attempts: 1 } });
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.FAILED);
    assert.match(r.message, /no service manager on this host/);
    assert.deepEqual(findPids(svc.name), [svc.pid], 'the running process was not touched');
  });
});
