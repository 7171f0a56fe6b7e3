/**
 * The agent is the parent of what the process strategy starts: it knows of
 * such a process's death at once (no polling), and the early-exit watch of a
 * start ends as soon as the process runs under the service's name.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Operation, Outcome } from '@smgr/shared';
import { useCleanup, useServers, waitFor } from '@smgr/testing';
import { startEngine } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { waitForLog } from '@smgr/testing/smgr';
import { findPids } from '@smgr/testing/procs';
import { sleeperService } from './support-agent-services.js';

describe('exit of a process the agent started', () => {
  test('is told at once with its pid and signal, and the start step ended when the process ran under its name', async (t) => {
    const cleanup = useCleanup(t);
    const { name, start } = await sleeperService(cleanup, 'exit');
    const exits: { service: string; pid: number; code: number | null; signal: string | null }[] = [];
    const engine = await startEngine(
      cleanup,
      { [name]: { restart_strategy: 'process', start_command: start } },
      {},
      {
        onStartedExit: (service, pid, code, signal) => exits.push({ service, pid, code, signal }),
      },
    );
    const r = await engine.run(Operation.START, name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    const startStep = r.steps.find((s) => s.name === 'start');
    assert.match(
      startStep?.outputTail ?? '',
      /^running as pid \d+ under its name;/,
      'the early-exit watch ended on seeing the process, not on its 300 ms limit',
    );
    const [pid] = findPids(name);
    assert.ok(pid);
    assert.deepEqual(exits, []);
    process.kill(pid, 'SIGKILL');
    const [exit] = await waitFor(() => (exits.length > 0 ? exits : null), { timeoutMs: 5_000, message: 'the exit reported' });
    assert.deepEqual(exit, { service: name, pid, code: null, signal: 'SIGKILL' });
  });
});

describe('watch mode with a long watch_interval', () => {
  const servers = useServers();

  test('a service the agent started is reported and repaired when it dies, without waiting for the next round', async (t) => {
    const cleanup = useCleanup(t);
    const { name, start } = await sleeperService(cleanup, 'exitw');
    const stack = await startStack(cleanup, servers, {
      // One round an hour: anything repaired within the test's deadlines was found by the exit, not by a round.
      services: { [name]: { restart_strategy: 'process', start_command: start, watch: true, watch_interval: 3600, watch_failures: 1 } },
    });
    await stack.addProcess(1, name);
    await stack.setAlarm(1, 1);
    await stack.waitForAlarm(1, 0, 30_000);
    const [first] = findPids(name);
    assert.ok(first, 'started by the first repair');

    process.kill(first, 'SIGKILL');
    await waitForLog(stack.agent, 'started process exited', 10_000, (j) => j.service === name && j.pid === first);
    await waitForLog(stack.agent, 'watched service failing', 10_000, (j) => j.service === name && j.detectedBy === 'exit');
    const second = await waitFor(
      async () => {
        const pids = findPids(name);
        const s = await stack.status(1);
        return pids.length === 1 && pids[0] !== first && s.alarma === 0 ? pids[0] : null;
      },
      { timeoutMs: 30_000, message: 'repaired after its exit', context: () => stack.agent.tail() },
    );
    assert.notEqual(second, first);
    const kinds = await stack.db.query<{ kind: string }>('SELECT kind FROM smgr_events WHERE process_id = 1 ORDER BY id');
    assert.deepEqual(
      kinds.map((k) => k.kind),
      ['repair', 'agent_event', 'repair'],
      'the raised alarm, the exit reported by the watch, its repair',
    );
  });
});
