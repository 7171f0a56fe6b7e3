import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor, type ManagedProcess, useServers } from '@smgr/testing';
import { countLogs } from '@smgr/testing/chaos';
import { fleetService, startRollout, waitForRollout, writeFleetHostFiles } from '@smgr/testing/operator-api';
import { startAgent, threeControllers, waitAllConnected } from '@smgr/testing/active-active';

const servers = useServers();

describe('active-active controllers: joining and taking over', () => {
  test('a controller that joins takes its share of agents gradually, a bounded number per second', async (t) => {
    const { cleanup, env, addrs, procs, start } = await threeControllers(t, servers, 'aa-join', { start: [0, 1] });
    const [c1, c2] = [procs[0]!, procs[1]!];
    // Three hosts prefer c3 (down): they wait on c1. One host each prefers c1 and c2.
    const plan: [string, number[]][] = [
      ['aa-j1', [2, 0, 1]],
      ['aa-j2', [2, 0, 1]],
      ['aa-j3', [2, 0, 1]],
      ['aa-j4', [0, 1, 2]],
      ['aa-j5', [1, 0, 2]],
    ];
    const agents: ManagedProcess[] = [];
    for (const [host, order] of plan)
      agents.push(
        await startAgent(
          cleanup,
          env,
          host,
          order.map((i) => addrs[i]!),
          {},
        ),
      );
    for (const [host] of plan) {
      await waitFor(() => procs.some((p) => p && countLogs(p, 'agent connected', (j) => j.hostId === host) > 0), {
        timeoutMs: 60_000,
        message: `${host} connected`,
        context: () => agents.map((a) => a.tail(15)).join('\n'),
      });
    }
    const c3 = await start(2);
    // Five agents over three controllers: a share of 2 each. c3 takes two of the hosts that prefer it.
    const on = (c: ManagedProcess) =>
      new Set(
        c
          .jsonLines()
          .filter((j) => j.msg === 'agent connected')
          .map((j) => j.hostId as string),
      );
    await waitFor(() => [...on(c3)].filter((h) => ['aa-j1', 'aa-j2', 'aa-j3'].includes(h)).length >= 2, {
      timeoutMs: 90_000,
      message: 'c3 holds two of the hosts that prefer it',
      context: () => [c1, c2, c3, ...agents].map((p) => p.tail(8)).join('\n'),
    });
    // Moves came in steps of at most rebalance_rate (1) per second, and only displaced agents moved.
    const steps = [c1, c2].flatMap((c) => c.jsonLines().filter((j) => j.msg === 'asked agents to move to rebalance the fleet'));
    assert.ok(steps.length >= 2, 'controllers asked agents to move, one step at a time');
    for (const s of steps) assert.ok(Number(s.asked) <= 1, `one agent per step, got ${JSON.stringify(s)}`);
    const moved = new Set(steps.flatMap((s) => s.hosts as string[]));
    for (const h of moved) assert.ok(['aa-j1', 'aa-j2', 'aa-j3'].includes(h), `${h} was on its first choice and was moved`);
    assert.equal(
      countLogs(c3, 'agent connected', (j) => j.hostId === 'aa-j4' || j.hostId === 'aa-j5'),
      0,
      'hosts on their first choice stayed',
    );
    // Nobody was refused for anything but rebalancing (or c3 being down): no herd, no errors.
    for (const a of agents) assert.equal(countLogs(a, 'controller refused this agent'), 0);
  });

  test('the leader is killed mid-rollout: another controller takes the lease and resumes the rollout, installing nothing twice', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, servers, 'aa-roll', { more: { controller: { lease_ttl: 2 } } });
    const c1 = procs[0]!;
    const service = `aarol${Math.random().toString(16).slice(2, 6)}`;
    const hostIds = ['aa-r1', 'aa-r2', 'aa-r3'];
    for (const [i, host] of hostIds.entries()) {
      const dir = join(env.dir, 'hosts', host);
      await writeFleetHostFiles(dir, { slow: i === 0 });
      // Spread over the two controllers that stay: the killed leader holds no agent.
      await startAgent(cleanup, env, host, i % 2 === 0 ? [addrs[1]!, addrs[2]!] : [addrs[2]!, addrs[1]!], { [service]: fleetService(dir) });
    }
    const a2 = await api(1);
    await waitAllConnected(a2, hostIds);
    // Rollouts are driven by the leader (created through any controller; here the leader).
    const a1 = await api(0);
    const id = await startRollout(a1, { service, version: '2.0', batchSize: 1, minHealthySeconds: 0.3, probeIntervalSeconds: 0.1, healthyDeadlineSeconds: 10 });
    await waitForRollout(a2, id, (r) => r.hosts[0].state === 'updating', 'aa-r1 updating');
    await c1.kill9();
    const resumed = await waitFor(() => [procs[1]!, procs[2]!].find((p) => countLogs(p, 'active rollouts resumed') > 0), {
      timeoutMs: 30_000,
      message: 'a controller resumed the rollout',
    });
    const done = await waitForRollout(a2, id, (r) => !['running', 'paused'].includes(r.state), 'rollout finished after the takeover', 90_000);
    assert.equal(done.state, 'succeeded', `${done.message}\n${resumed.tail(30)}`);
    for (const h of hostIds) {
      const installs = (await readFile(join(env.dir, 'hosts', h, 'installs'), 'utf8')).trim().split('\n');
      assert.deepEqual(installs, ['2.0'], `${h} installed 2.0 exactly once`);
    }
  });
});
