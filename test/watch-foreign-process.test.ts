/**
 * Watch mode on processes the agent did NOT start (the test starts them,
 * detached in their own sessions, before the agent runs): the agent is not
 * their parent and hears no exit, so it finds them dead by polling at
 * watch_interval, by the built-in name check or by `pidfile =`, and the
 * ordinary alarm path repairs them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, useCleanup, waitFor, useServers } from '@smgr/testing';
import { uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { installSleeper } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { findPids, killAll } from '@smgr/testing/procs';

const servers = useServers();

/** Starts `path infinity` detached (own session, no pipes): it outlives nothing of ours and is no child of the agent. */
function startDetached(path: string): number {
  const child = spawn(path, ['infinity'], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid!;
}

describe('watch mode on processes the agent did not start', () => {
  test('a process found by name and one found by its pidfile are both found dead by polling, alarmed and repaired', { timeout: 180_000 }, async (t) => {
    const cleanup = useCleanup(t);
    const bin = await makeTempDir('bin', cleanup);
    const byName = uniqueServiceName('fname');
    const byPidfile = uniqueServiceName('fpid');
    for (const n of [byName, byPidfile]) cleanup.add(() => killAll(n), `processes named ${n}`);
    const named = await installSleeper(bin.path, byName);
    const pidded = await installSleeper(bin.path, byPidfile);
    const pidfile = join(bin.path, `${byPidfile}.pid`);

    const firstByName = startDetached(named.path);
    const firstByPidfile = startDetached(pidded.path);
    await writeFile(pidfile, `${firstByPidfile}\n`);
    await waitFor(() => findPids(byName).length === 1 && findPids(byPidfile).length === 1, { timeoutMs: 5_000, message: 'both running' });

    const common = { restart_strategy: 'process', watch: true, watch_interval: 0.5, watch_failures: 2, restart_delay: 0.2 };
    const stack = await startStack(cleanup, servers, {
      services: {
        [byName]: { ...common, start_command: named.start },
        // Its start command writes the pidfile, as a daemon does.
        [byPidfile]: { ...common, pidfile, start_command: `/bin/sh -c 'echo $$ > ${pidfile}; exec ${pidded.path} infinity'` },
      },
    });
    await stack.addProcess(1, byName);
    await stack.addProcess(2, byPidfile);
    // The watch has seen both alive before they are killed (no failure is counted yet).
    await waitForLog(stack.agent, 'watching services', 10_000);

    process.kill(firstByName, 'SIGKILL');
    process.kill(firstByPidfile, 'SIGKILL');

    for (const [id, name, first] of [
      [1, byName, firstByName],
      [2, byPidfile, firstByPidfile],
    ] as const) {
      const failing = ((await waitForLog(stack.agent, 'watched service failing', 20_000, (j) => j.service === name)) as { json: Record<string, unknown> }).json;
      assert.equal(failing.detectedBy, 'poll', `${name}: found by a watch round, not by an exit the agent heard`);
      assert.equal(failing.failures, 2);
      const back = await waitFor(
        async () => {
          const pids = findPids(name);
          const s = await stack.status(id);
          return pids.length === 1 && pids[0] !== first && Number(s.alarma) === 0 && /restarted by process strategy/.test(s.notes ?? '') ? pids[0] : null;
        },
        { timeoutMs: 60_000, message: `${name} repaired and its alarm cleared`, context: () => stack.agent.tail() },
      );
      assert.notEqual(back, first);
    }

    const reports = await stack.db.query<{ process_id: number; message: string }>(
      "SELECT process_id, message FROM smgr_events WHERE kind = 'agent_event' ORDER BY process_id",
    );
    assert.deepEqual(
      reports.map((r) => Number(r.process_id)),
      [1, 2],
      'one watch report per service',
    );
    assert.match(reports[0]!.message, new RegExp(`${byName} failed 2 watch checks in a row \\(exit 1\\)`));
    assert.match(reports[1]!.message, new RegExp(`${byPidfile} failed 2 watch checks in a row \\(no process alive with pid ${firstByPidfile} from pidfile `));
    const repairs = await stack.db.query<{ process_id: number }>("SELECT process_id FROM smgr_events WHERE kind = 'repair' ORDER BY process_id");
    assert.deepEqual(
      repairs.map((r) => Number(r.process_id)),
      [1, 2],
      'one repair each',
    );
  });
});
