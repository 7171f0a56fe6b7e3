/**
 * Issue 16: the agent as a container entrypoint would run it, PID 1 of a
 * fresh PID and mount namespace (`unshare --pid --fork --mount-proc`; the
 * network namespace is this machine's, so it reaches a real controller on
 * loopback). It starts its services by startup_rank (container mode is on by
 * itself as PID 1); a daemonizing service (its start script backgrounds it
 * and exits) that is killed is reaped at once, so `pgrep -x` no longer sees
 * it, and the watch → alarm → repair path restarts it; no zombie stays; a
 * SIGTERM stops the services by descending startup_rank and the agent exits 0.
 * Needs root (unshare --pid).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, startMariaDb, startRedis, useCleanup, waitFor, type MariaDbInstance, type RedisInstance } from '@smgr/testing';
import { uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { startStack } from '@smgr/testing/stack';
import { writeDaemonizingService } from '@smgr/testing/daemonizing';
import { childrenOf, findPids, killAll } from '@smgr/testing/procs';

const isRoot = process.getuid?.() === 0;
let mysql: MariaDbInstance;
let redis: RedisInstance;

before(async () => {
  if (!isRoot) return;
  [mysql, redis] = await Promise.all([startMariaDb(), startRedis()]);
});
after(async () => {
  await Promise.allSettled([mysql?.stop(), redis?.stop()]);
});

const stateOf = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return null;
  }
};

test('as PID 1 of a PID namespace the agent starts its services by rank, reaps a killed daemon so it is repaired, leaves no zombie, and at SIGTERM stops them by descending rank and exits 0', {
  skip: isRoot ? false : 'needs root (unshare --pid)',
}, async (t) => {
  const cleanup = useCleanup(t);
  const bin = await makeTempDir('pid1', cleanup);
  const order = join(bin.path, 'stop-order');
  // Ranks out of file order: start must be low → high, stop high → low.
  const [high, killed, low] = [uniqueServiceName('p1c'), uniqueServiceName('p1a'), uniqueServiceName('p1b')];
  const services: Record<string, Record<string, string | number | boolean>> = {
    [high]: { restart_strategy: 'process', start_command: await writeDaemonizingService('', bin.path, high, order), startup_rank: 30, stop_timeout: 5 },
    [killed]: {
      restart_strategy: 'process',
      start_command: await writeDaemonizingService('', bin.path, killed, order),
      startup_rank: 20,
      stop_timeout: 5,
      // procps pgrep itself, which lists zombies: without reaping, the killed daemon would pass this check forever.
      health_check_command: 'pgrep -x %s',
      watch: true,
      watch_interval: 0.5,
      watch_failures: 2,
      restart_delay: 0.2,
    },
    [low]: { restart_strategy: 'process', start_command: await writeDaemonizingService('', bin.path, low, order), startup_rank: 10, stop_timeout: 5 },
  };
  for (const name of Object.keys(services)) cleanup.add(() => killAll(name), `processes named ${name}`);

  const stack = await startStack(
    cleanup,
    { mysql, redis },
    {
      services,
      // --kill-child: should unshare be killed, the agent (PID 1) dies and the kernel ends its namespace.
      agentPrefix: ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'],
    },
  );
  await stack.addProcess(1, killed);
  const unsharePid = stack.agent.pid!;
  const agentPid = await waitFor(() => childrenOf(unsharePid)[0]?.pid, { timeoutMs: 10_000, message: 'the agent under unshare' });

  await waitForLog(stack.agent, 'PID 1 of this PID namespace: reaping every orphan', 10_000);
  const started = ((await waitForLog(stack.agent, 'container start-up finished', 30_000)) as { json?: { ok?: boolean } }).json;
  assert.equal(started?.ok, true, stack.agent.tail());
  const startOrder = stack.agent.jsonLines().find((j) => j.msg === 'job started' && j.reason === 'container-start')?.order;
  assert.deepEqual(startOrder, [low, killed, high], 'started by ascending startup_rank');
  for (const name of [low, killed, high]) {
    assert.equal(findPids(name).length, 1, `${name} runs once`);
    // Daemonized: its start script has exited, and the orphan is the agent's (PID 1's) child.
    assert.ok(
      childrenOf(agentPid).some((c) => c.comm === name),
      `${name} was adopted by the agent`,
    );
  }

  const [victim] = findPids(killed);
  process.kill(victim!, 'SIGKILL');
  await waitFor(() => stateOf(victim!) === null, {
    timeoutMs: 10_000,
    message: `killed ${killed} (pid ${victim}) reaped, not a zombie`,
    context: () => stack.agent.tail(),
  });
  // The watch raises the alarm, the repair clears it and notes it.
  const s = await waitFor(
    async () => {
      const st = await stack.status(1);
      return /restarted by process strategy/.test(st.notes ?? '') ? st : null;
    },
    { timeoutMs: 30_000, message: 'repair noted', context: () => stack.agent.tail() },
  );
  assert.equal(s.alarma, 0);
  const kinds = (await stack.db.query<{ kind: string }>('SELECT kind FROM smgr_events WHERE process_id = 1 ORDER BY id')).map((r) => r.kind);
  assert.deepEqual(kinds, ['agent_event', 'repair'], 'the watch report, then the repair it caused');
  const [replacement] = await waitFor(() => (findPids(killed).length === 1 ? findPids(killed) : null), {
    timeoutMs: 10_000,
    message: `${killed} running again`,
  });
  assert.notEqual(replacement, victim);
  // The orphaned `sleep 1` of the killed shell and the repair's start script are children too, for a moment.
  await waitFor(() => childrenOf(agentPid).every((c) => c.state !== 'Z'), {
    timeoutMs: 10_000,
    message: 'no zombie child of the agent',
    context: () => JSON.stringify(childrenOf(agentPid)),
  });

  process.kill(agentPid, 'SIGTERM');
  const exit = await stack.agent.exited;
  assert.equal(exit.code, 0, `agent exit status (through unshare); ${stack.agent.tail()}`);
  const stopped = (await readFile(order, 'utf8')).trim().split('\n');
  assert.deepEqual(stopped, [high, killed, low], 'each service got SIGTERM by descending startup_rank');
  const shutdown = stack.agent.jsonLines().find((j) => j.msg === 'services stopped for shutdown') as { ok: boolean; order: string[] } | undefined;
  assert.deepEqual(shutdown?.order, [high, killed, low]);
  assert.equal(shutdown?.ok, true);
  for (const name of [low, killed, high]) assert.deepEqual(findPids(name), [], `${name} is gone with its namespace`);
  const held = await readFile(join(stack.dir, 'agent-state', 'held-services.json'), 'utf8').catch(() => '[]');
  assert.deepEqual(JSON.parse(held), [], 'a shutdown holds nothing: the next start-up starts every service');
});
