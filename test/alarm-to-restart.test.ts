import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useServers, makeTempDir, useCleanup, waitFor } from '@smgr/testing';
import { installSampleService, uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { startStack } from '@smgr/testing/stack';
import { findPids, killAll } from '@smgr/testing/procs';

const servers = useServers();

describe('alarm to restart, end to end', () => {
  test('a killed sample daemon with alarma=1 is started again by the agent and the alarm is cleared', async (t) => {
    const cleanup = useCleanup(t);
    const bin = await makeTempDir('bin', cleanup);
    const name = uniqueServiceName('smpl');
    cleanup.add(() => killAll(name), 'sample service');
    const path = await installSampleService(bin.path, name);
    const stack = await startStack(cleanup, servers, {
      services: { [name]: { restart_strategy: 'process', start_command: path, health_check_timeout: 10, restart_delay: 0.2 } },
    });
    await stack.addProcess(1, name);

    // The service runs, then dies.
    const { ManagedProcess } = await import('@smgr/testing');
    const first = ManagedProcess.start(path, [], { name: 'sample' });
    cleanup.add(() => first.stop());
    const [oldPid] = await waitFor(() => (findPids(name).length === 1 ? findPids(name) : null), {
      timeoutMs: 5_000,
      message: 'sample service running',
    });
    await first.stop('SIGKILL');
    assert.deepEqual(findPids(name), []);

    const raisedAt = Date.now();
    await stack.setAlarm(1, 1);
    const cleared = await stack.waitForAlarm(1, 0, 30_000);
    const clearedMs = Date.now() - raisedAt;
    t.diagnostic(`alarm raised -> cleared in ${clearedMs} ms`);

    const pids = findPids(name);
    assert.equal(pids.length, 1, 'exactly one instance runs again');
    assert.notEqual(pids[0], oldPid, 'it is a new process');
    assert.match(cleared.notes ?? '', /restarted by process strategy/);
    assert.match(cleared.notes ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ /);

    const events = await stack.db.query<{ kind: string; outcome: string; host_id: string; detail: string }>(
      "SELECT kind, outcome, host_id, detail FROM smgr_events WHERE process_id = 1 AND kind = 'repair'",
    );
    assert.equal(events.length, 1, 'one repair recorded');
    assert.equal(events[0]!.outcome, 'succeeded');
    assert.equal(events[0]!.host_id, 'host-a');
    const detail = JSON.parse(events[0]!.detail) as { steps: { name: string; exitCode: number }[] };
    assert.deepEqual(
      detail.steps.map((s) => s.name),
      ['stop', 'start', 'health_check'],
    );
  });

  test('when the start command fails the alarm stays set, notes say why, and nothing crashes', async (t) => {
    const cleanup = useCleanup(t);
    const name = uniqueServiceName('fail');
    const stack = await startStack(cleanup, servers, {
      services: { [name]: { restart_strategy: 'process', start_command: '/bin/false', max_attempts: 1, health_check_timeout: 1 } },
    });
    await stack.addProcess(7, name);
    await stack.setAlarm(7, 1);
    const failed = await waitFor(
      async () => {
        const s = await stack.status(7);
        return s.notes?.includes('repair failed') ? s : null;
      },
      { timeoutMs: 20_000, message: 'failure noted' },
    );
    assert.equal(failed.alarma, 1, 'alarm stays set');
    assert.match(failed.notes ?? '', /repair failed on host-a: start command exited 1/);
    const [incident] = await stack.db.query<{ state: string }>('SELECT state FROM smgr_incidents WHERE process_id = 7');
    assert.equal(incident?.state, 'pending', 'the incident stays open for a later retry');
    // Both daemons are still up and serving.
    assert.equal(stack.controller.exitStatus, undefined);
    assert.equal(stack.agent.exitStatus, undefined);
  });

  test('hostile process names are never run through a shell', async (t) => {
    const cleanup = useCleanup(t);
    const work = await makeTempDir('hostile', cleanup);
    const canary = (n: string) => join(work.path, n);
    const hostile = [`x; touch ${canary('CANARY1')}`, `$(touch ${canary('CANARY2')})`, `\`touch ${canary('CANARY3')}\``];
    // The agent manages one hostile name itself, so the name really travels
    // to the agent and through its commands (start, health check with %s).
    const managed = `$(touch ${canary('CANARY4')})`;
    const stack = await startStack(cleanup, servers, {
      agentJson: true,
      agentCwd: work.path,
      services: {
        [managed]: {
          restart_strategy: 'process',
          start_command: '/bin/true %s',
          health_check_command: '/bin/echo %s',
          max_attempts: 1,
          health_check_timeout: 1,
        },
      },
    });
    for (const [i, n] of hostile.entries()) await stack.addProcess(100 + i, n);
    await stack.addProcess(200, managed);
    for (const id of [100, 101, 102, 200]) await stack.setAlarm(id, 1);

    for (const id of [100, 101, 102]) {
      const s = await waitFor(async () => ((await stack.status(id)).notes ? stack.status(id) : null), {
        timeoutMs: 15_000,
        message: `note on ${id}`,
      });
      assert.equal(s.alarma, 1);
      assert.match(s.notes ?? '', /not repaired: no agent manages/);
    }
    const repaired = await stack.waitForAlarm(200, 0, 15_000);
    assert.match(repaired.notes ?? '', /restarted by process strategy/);
    await waitForLog(stack.agent, 'step finished', 5_000, (j) => j.step === 'health_check');
    const health = stack.agent.jsonLines().find((j) => j.msg === 'step finished' && j.step === 'health_check');
    assert.deepEqual(health?.argv, ['/bin/echo', managed], 'the name is one argv element, untouched');
    for (const n of ['CANARY1', 'CANARY2', 'CANARY3', 'CANARY4']) {
      assert.equal(existsSync(canary(n)), false, `${n} must never be created`);
    }
  });
});
