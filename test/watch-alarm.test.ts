/**
 * Watch mode end to end: the agent's own checks find a dead service, the
 * controller raises alarma=1 on its row (MySQL stays the source of truth),
 * and the ordinary alarm path repairs it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServers, useCleanup, waitFor } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { runningSample } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { findPids } from '@smgr/testing/procs';

const servers = useServers();

const watched = (start: string) => ({
  restart_strategy: 'process',
  start_command: start,
  watch: true,
  watch_interval: 0.2,
  watch_failures: 2,
  restart_delay: 0.2,
});

describe('watch mode', () => {
  test("a watched service that dies raises its row's alarm through the controller and is repaired", async (t) => {
    const cleanup = useCleanup(t);
    const svc = await runningSample(cleanup, 'watch');
    const stack = await startStack(cleanup, servers, { services: { [svc.name]: watched(svc.start) } });
    await stack.addProcess(1, svc.name);

    process.kill(svc.pid, 'SIGKILL');
    await waitForLog(stack.agent, 'watched service failing', 10_000, (j) => j.service === svc.name);
    const repaired = await waitFor(
      async () => {
        const kinds = (await stack.db.query<{ kind: string }>('SELECT kind FROM smgr_events WHERE process_id = 1 ORDER BY id')).map((r) => r.kind);
        return kinds.includes('repair') ? kinds : null;
      },
      { timeoutMs: 30_000, message: 'the repair recorded', context: () => stack.agent.tail() },
    );

    assert.deepEqual(repaired, ['agent_event', 'repair'], 'the watch report, then the repair it caused');
    const s = await stack.waitForAlarm(1, 0);
    assert.match(s.notes ?? '', /restarted by process strategy/);
    assert.equal(findPids(svc.name).length, 1);
    const [report] = await stack.db.query<{ message: string; outcome: string; host_id: string }>(
      "SELECT message, outcome, host_id FROM smgr_events WHERE kind = 'agent_event'",
    );
    assert.equal(report?.host_id, 'host-a');
    assert.equal(report?.outcome, 'failing');
    assert.match(report?.message ?? '', new RegExp(`watch on host-a: ${svc.name} failed 2 watch checks in a row \\(exit 1\\)`));
    await waitForLog(stack.agent, 'event acknowledged', 5_000);
  });

  test('with create_missing_rows the controller creates the name@host row in alarm and the service is repaired', async (t) => {
    const cleanup = useCleanup(t);
    const svc = await runningSample(cleanup, 'watch');
    const stack = await startStack(cleanup, servers, {
      services: { [svc.name]: watched(svc.start) },
      controller: { controller: { create_missing_rows: true } },
    });

    process.kill(svc.pid, 'SIGKILL');
    const [row] = await waitFor(
      async () => {
        const rows = await stack.db.query<{ process_id: number; process_name: string }>('SELECT process_id, process_name FROM PROCESE');
        return rows.length > 0 ? rows : null;
      },
      { timeoutMs: 15_000, message: 'a PROCESE row created', context: () => stack.controller.tail() },
    );
    assert.equal(row?.process_name, `${svc.name}@host-a`);
    const s = await stack.waitForAlarm(row!.process_id, 0, 30_000);
    assert.match(s.notes ?? '', /restarted by process strategy/);
    assert.equal(findPids(svc.name).length, 1);
  });
});
