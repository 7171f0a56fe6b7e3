/**
 * Issue 12, done-when: a mass failure of 20 watched process-strategy
 * services, all killed at once, is repaired with exactly one start each,
 * every alarm is cleared, and nothing is left down. Each start command
 * appends a line to its service's counter file before it becomes the
 * service, so a second start of any service (a duplicate repair, a repair
 * raced by the exit-triggered check and a round) shows as a second line.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, ManagedProcess, useCleanup, useServers, waitFor } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { installSleeper } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { findPids, killAll } from '@smgr/testing/procs';

const servers = useServers();

const SERVICES = 20;
const WATCH_INTERVAL_S = 1;

const starts = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;

interface Mass {
  stack: Awaited<ReturnType<typeof startStack>>;
  names: string[];
  counters: Map<string, string>;
}

/** SERVICES watched services of the process strategy, each running (not started by the agent) with a start counter. */
async function massStack(cleanup: ReturnType<typeof useCleanup>, count: number, more: Record<string, string | number | boolean> = {}): Promise<Mass> {
  const bin = await makeTempDir('bin', cleanup);
  const names: string[] = [];
  const counters = new Map<string, string>();
  const services: Record<string, Record<string, string | number | boolean>> = {};
  for (let i = 0; i < count; i++) {
    const name = uniqueServiceName(`mass${i}`);
    cleanup.add(() => killAll(name), `processes named ${name}`);
    const { path } = await installSleeper(bin.path, name);
    const counter = join(bin.path, `${name}.starts`);
    counters.set(name, counter);
    // Running before the agent starts, and not by a start command: the counter counts repairs only.
    const first = ManagedProcess.start(path, ['infinity'], { name });
    cleanup.add(() => first.stop());
    names.push(name);
    services[name] = {
      restart_strategy: 'process',
      start_command: `/bin/sh -c 'echo start >> ${counter}; exec ${path} infinity'`,
      watch: true,
      watch_interval: WATCH_INTERVAL_S,
      watch_failures: 1,
      restart_delay: 0.2,
      max_attempts: 2,
      ...more,
    };
  }
  const stack = await startStack(cleanup, servers, {
    services,
    controller: { monitor: { retry_delay: 1 }, logging: { level: 'info' } },
  });
  for (const [i, name] of names.entries()) await stack.addProcess(i + 1, name);
  await waitFor(() => names.every((n) => findPids(n).length === 1), { timeoutMs: 10_000, message: 'every service running' });
  return { stack, names, counters };
}

async function killEach(names: string[]): Promise<Map<string, number>> {
  const before = new Map(names.map((n) => [n, findPids(n)[0]!]));
  for (const pid of before.values()) process.kill(pid, 'SIGKILL');
  return before;
}

const allBackUnderNewPids = (names: string[], before: Map<string, number>) => names.every((n) => findPids(n).length === 1 && findPids(n)[0] !== before.get(n));

describe('a mass failure of watched services', () => {
  test('20 services killed at once are each started exactly once, every alarm is cleared and all run again', { timeout: 240_000 }, async (t) => {
    const cleanup = useCleanup(t);
    const { stack, names, counters } = await massStack(cleanup, SERVICES);
    const before = await killEach(names);

    const settled = async () => {
      if (!allBackUnderNewPids(names, before)) return false;
      const [row] = await stack.db.query<{ raised: number; open: number; repairs: number }>(
        `SELECT (SELECT COUNT(*) FROM STATUS_PROCESS WHERE alarma = 1) AS raised,
                (SELECT COUNT(*) FROM smgr_incidents WHERE state IN ('pending', 'dispatched')) AS open,
                (SELECT COUNT(*) FROM smgr_events WHERE kind = 'repair') AS repairs`,
      );
      return Number(row?.raised) === 0 && Number(row?.open) === 0 && Number(row?.repairs) >= SERVICES;
    };
    await waitFor(settled, {
      timeoutMs: 120_000,
      intervalMs: 100,
      message: 'every service back under a new pid, every alarm cleared, no repair open',
      context: () => stack.agent.tail(),
    });
    // Two more watch rounds: a duplicate repair of any service would show now.
    await new Promise((r) => setTimeout(r, 2 * WATCH_INTERVAL_S * 1000 + 500));
    assert.ok(await settled(), 'still settled two watch rounds later');

    const counts = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await starts(counters.get(n)!)] as const)));
    assert.deepEqual(counts, Object.fromEntries(names.map((n) => [n, 1])), 'exactly one start per service');
    for (const [i, name] of names.entries()) {
      const s = await stack.status(i + 1);
      assert.equal(Number(s.alarma), 0, `${name} alarm cleared`);
      assert.match(s.notes ?? '', /restarted by process strategy/, `${name} notes`);
    }
    const repairs = await stack.db.query<{ process_id: number; n: number }>(
      "SELECT process_id, COUNT(*) AS n FROM smgr_events WHERE kind = 'repair' AND outcome = 'succeeded' GROUP BY process_id ORDER BY process_id",
    );
    assert.deepEqual(
      repairs.map((r) => [Number(r.process_id), Number(r.n)]),
      names.map((_, i) => [i + 1, 1]),
      'one successful repair recorded per service',
    );
  });

  test('watch_repair = agent: 20 services killed at once are each started once by the agent, no alarm is raised, each repair is in the history', {
    timeout: 240_000,
  }, async (t) => {
    const cleanup = useCleanup(t);
    const { stack, names, counters } = await massStack(cleanup, SERVICES, { watch_repair: 'agent' });
    const before = await killEach(names);
    const recorded = async () => {
      const [row] = await stack.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM smgr_events WHERE kind = 'autonomous_repair' AND outcome = 'succeeded'");
      return Number(row?.n);
    };
    await waitFor(async () => allBackUnderNewPids(names, before) && (await recorded()) === SERVICES, {
      timeoutMs: 120_000,
      intervalMs: 100,
      message: 'every service back under a new pid and its local repair recorded by the controller',
      context: () => stack.agent.tail(),
    });
    await new Promise((r) => setTimeout(r, 2 * WATCH_INTERVAL_S * 1000 + 500));
    const counts = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await starts(counters.get(n)!)] as const)));
    assert.deepEqual(counts, Object.fromEntries(names.map((n) => [n, 1])), 'exactly one start per service');
    const [row] = await stack.db.query<{ alarms: number; incidents: number; repairs: number }>(
      `SELECT (SELECT COUNT(*) FROM STATUS_PROCESS WHERE alarma <> 0) AS alarms,
              (SELECT COUNT(*) FROM smgr_incidents) AS incidents,
              (SELECT COUNT(*) FROM smgr_events WHERE kind = 'repair') AS repairs`,
    );
    assert.deepEqual([Number(row?.alarms), Number(row?.incidents), Number(row?.repairs)], [0, 0, 0], 'no alarm, no incident, no repair by the controller');
    assert.equal(await recorded(), SERVICES, 'one local repair per service in the history');
    for (const [i, name] of names.entries()) {
      assert.match((await stack.status(i + 1)).notes ?? '', /repaired it on its own: restarted by process strategy/, `${name} notes`);
    }
  });

  test('watch_repair = agent: a service that keeps dying is repaired here 5 times a minute, then the controller takes over and repairs it', {
    timeout: 240_000,
  }, async (t) => {
    const cleanup = useCleanup(t);
    const { stack, names, counters } = await massStack(cleanup, 1, { watch_repair: 'agent' });
    const [name] = names as [string];
    for (let kill = 1; kill <= 6; kill++) {
      const before = await killEach(names);
      await waitFor(async () => allBackUnderNewPids(names, before) && (await starts(counters.get(name)!)) === kill, {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: `repair ${kill} of ${name}`,
        context: () => stack.agent.tail(),
      });
    }
    await waitFor(
      async () => {
        const [row] = await stack.db.query<{ local: number; central: number; alarms: number }>(
          `SELECT (SELECT COUNT(*) FROM smgr_events WHERE kind = 'autonomous_repair' AND outcome = 'succeeded') AS local,
                  (SELECT COUNT(*) FROM smgr_events WHERE kind = 'repair' AND outcome = 'succeeded') AS central,
                  (SELECT COUNT(*) FROM STATUS_PROCESS WHERE alarma <> 0) AS alarms`,
        );
        return Number(row?.local) === 5 && Number(row?.central) === 1 && Number(row?.alarms) === 0;
      },
      { timeoutMs: 30_000, message: '5 local repairs, then one by the controller, its alarm cleared', context: () => stack.agent.tail() },
    );
    assert.equal(await starts(counters.get(name)!), 6, 'six kills, six starts: none lost, none doubled');
  });
});
