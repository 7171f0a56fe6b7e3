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
import { makeTempDir, ManagedProcess, useCleanup, waitFor, useServers } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { installSleeper } from '@smgr/testing/agent-engine';
import { startStack } from '@smgr/testing/stack';
import { findPids, killAll } from '@smgr/testing/procs';

const servers = useServers();

const SERVICES = 20;
const WATCH_INTERVAL_S = 1;

const starts = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;

describe('a mass failure of watched services', () => {
  test('20 services killed at once are each started exactly once, every alarm is cleared and all run again', { timeout: 240_000 }, async (t) => {
    const cleanup = useCleanup(t);
    const bin = await makeTempDir('bin');
    cleanup.add(() => bin.remove());
    const names: string[] = [];
    const counters = new Map<string, string>();
    const services: Record<string, Record<string, string | number | boolean>> = {};
    for (let i = 0; i < SERVICES; i++) {
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
      };
    }
    const stack = await startStack(cleanup, servers, {
      services,
      controller: { monitor: { retry_delay: 1 }, logging: { level: 'info' } },
    });
    for (const [i, name] of names.entries()) await stack.addProcess(i + 1, name);
    await waitFor(() => names.every((n) => findPids(n).length === 1), { timeoutMs: 10_000, message: 'every service running' });

    const before = new Map(names.map((n) => [n, findPids(n)[0]!]));
    for (const pid of before.values()) process.kill(pid, 'SIGKILL');

    const settled = async () => {
      if (!names.every((n) => findPids(n).length === 1 && findPids(n)[0] !== before.get(n))) return false;
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
});
