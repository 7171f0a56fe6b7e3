/**
 * Autonomy end to end: with the controller gone for longer than
 * agent.autonomy_after, the agent repairs a watched service itself, keeps the
 * result on disk, and delivers it when a controller is back — recorded once
 * in the controller's history, and not again after further reconnects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServers, useCleanup } from '@smgr/testing';
import { startAgent, startController, waitForLog } from '@smgr/testing/smgr';
import { runningSample } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { findPids } from '@smgr/testing/procs';

const servers = useServers();

test('the agent repairs a watched service while the controller is away, and the journal reaches the history exactly once', async (t) => {
  const cleanup = useCleanup(t);
  const { name, start, pid: oldPid } = await runningSample(cleanup, 'auto');

  // The stack's agent reads SMGR_AGENT_* from its environment, which it inherits from this test process.
  process.env.SMGR_AGENT_AUTONOMY_AFTER = '1';
  cleanup.add(() => delete process.env.SMGR_AGENT_AUTONOMY_AFTER);
  const stack = await startStack(cleanup, servers, {
    services: {
      [name]: { restart_strategy: 'process', start_command: start, watch: true, watch_interval: 0.2, watch_failures: 2, restart_delay: 0.2 },
    },
  });
  delete process.env.SMGR_AGENT_AUTONOMY_AFTER;
  await stack.addProcess(1, `${name}@host-a`);

  // The controller goes away; then the service dies.
  await stack.controller.stop();
  await waitForLog(stack.agent, 'controller link down; reconnecting', 10_000);
  process.kill(oldPid, 'SIGKILL');

  const repaired = await waitForLog(stack.agent, 'autonomous repair finished', 20_000, (j) => j.service === name);
  assert.equal((repaired as { json: { ok: boolean } }).json.ok, true);
  const [newPid] = findPids(name);
  assert.ok(newPid !== undefined && newPid !== oldPid, 'a new process runs');
  assert.equal((await stack.status(1)).alarma, 0, 'no controller, no alarm');

  // A controller comes back on the same database, Redis and port.
  const second = startController(stack.controllerConfig, 'controller-2');
  cleanup.add(() => second.stop(), 'controller-2');
  await waitForLog(second, 'agent connected', 30_000, (j) => j.hostId === 'host-a');
  await waitForLog(stack.agent, 'event acknowledged', 10_000);
  const rows = await stack.db.query<{ kind: string; outcome: string; job_id: string; message: string; detail: string }>(
    'SELECT kind, outcome, job_id, message, detail FROM smgr_events WHERE host_id = ? ORDER BY id',
    ['host-a'],
  );
  assert.deepEqual(
    rows.map((r) => r.kind),
    ['autonomous_repair'],
    'one event; the undelivered watch report it replaced is gone',
  );
  assert.equal(rows[0]!.outcome, 'succeeded');
  assert.match(rows[0]!.job_id, /^auto-/);
  assert.match(rows[0]!.message, new RegExp(`agent host-a repaired it on its own: restarted by process strategy \\(pid none -> ${newPid}\\)`));
  const detail = JSON.parse(rows[0]!.detail) as { result: { steps: { name: string }[] }; rows: { processIds: number[] } };
  assert.deepEqual(
    detail.result.steps.map((s) => s.name),
    ['stop', 'start', 'health_check'],
  );
  assert.deepEqual(detail.rows.processIds, [1]);
  const s = await stack.status(1);
  assert.equal(s.alarma, 0);
  assert.match(s.notes ?? '', /agent host-a repaired it on its own/);

  // Another reconnect, and an agent restart: nothing is delivered twice.
  await second.stop();
  const third = startController(stack.controllerConfig, 'controller-3');
  cleanup.add(() => third.stop(), 'controller-3');
  await waitForLog(third, 'agent connected', 30_000, (j) => j.hostId === 'host-a');
  await stack.agent.stop();
  const agent2 = startAgent(stack.agentConfig, 'agent-2');
  cleanup.add(() => agent2.stop(), 'agent-2');
  await waitForLog(agent2, 'connected to controller', 20_000);
  assert.equal(
    stack.agent.jsonLines().filter((j) => j.msg === 'delivering pending events').length,
    1,
    'pending events were delivered after the first reconnect only',
  );
  assert.equal(
    agent2.jsonLines().some((j) => j.msg === 'delivering pending events'),
    false,
    'the restarted agent has nothing pending',
  );
  const repairs = await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM smgr_events WHERE kind = 'autonomous_repair'");
  assert.equal(Number(repairs[0]!.n), 1);
  const seen = await stack.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM smgr_agent_events');
  assert.equal(Number(seen[0]!.n), 1);
});
