import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ManagedProcess, useServers } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { addProcesses, assertEachRepairedExactlyOnce, countingServices, countLogs, raiseAlarms, slowService, waitAllCleared } from '@smgr/testing/chaos';
import { waitForOperation } from '@smgr/testing/operator-api';
import { startAgent, threeControllers } from '@smgr/testing/active-active';

const servers = useServers();

describe('active-active controllers: every controller serves agents, the leader repairs through them', () => {
  test('repairs and operations are delivered by the controller that holds the host, and any API answers for the whole fleet', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, servers, 'aa-route');
    const [c1, c2, c3] = [procs[0]!, procs[1]!, procs[2]!];
    assert.ok(
      c1.jsonLines().some((j) => j.msg === 'controller running' && j.role === 'active'),
      'the first controller leads',
    );
    const services = await countingServices(cleanup, env, `aar${Math.random().toString(16).slice(2, 6)}-`, 3);
    const hosts = ['aa-h1', 'aa-h2', 'aa-h3'];
    const agents: ManagedProcess[] = [];
    for (const [i, host] of hosts.entries()) {
      // Each host's first choice is a different controller.
      const order = [addrs[i]!, ...addrs.filter((_, j) => j !== i)];
      agents.push(await startAgent(cleanup, env, host, order, { [services[i]!.name]: slowService(services[i]!, 0.2) }));
      await waitForLog(procs[i]!, 'agent connected', 60_000, (j) => j.hostId === host);
    }
    const ids = await addProcesses(
      env.db,
      services.map((s) => s.name),
    );
    await raiseAlarms(env.db, ids);
    await waitAllCleared(env.db, ids, 60_000, () => procs.map((p) => p!.tail(20)).join('\n'));
    await assertEachRepairedExactlyOnce(env, ids, services);

    // The leader ran every repair; h2's and h3's went through the controllers holding them.
    assert.equal(countLogs(c1, 'repair succeeded; alarm cleared'), 3);
    assert.equal(
      countLogs(c2, 'delivering a job for another controller', (j) => j.hostId === 'aa-h2' && String(j.jobId).startsWith('inc-')),
      1,
    );
    assert.equal(
      countLogs(c3, 'delivering a job for another controller', (j) => j.hostId === 'aa-h3' && String(j.jobId).startsWith('inc-')),
      1,
    );
    for (const [i, a] of agents.entries()) assert.equal(countLogs(a, 'connected to controller'), 1, `${hosts[i]} never moved`);

    // An operation asked on c3 for a host on c2 goes through c2.
    const a3 = await api(2);
    const listed = await a3.get('/v1/hosts?connected=true');
    assert.deepEqual((listed.body.hosts as { hostId: string }[]).map((h) => h.hostId).sort(), hosts, 'c3 sees every connected host');
    const op = await a3.post('/v1/operations', { operation: 'status', service: services[1]!.name, hosts: ['aa-h2'] });
    assert.equal(op.status, 202, JSON.stringify(op.body));
    const done = await waitForOperation(a3, op.body.id);
    assert.equal(done.hosts[0].state, 'succeeded', JSON.stringify(done));
    assert.equal(
      countLogs(c2, 'delivering a job for another controller', (j) => j.hostId === 'aa-h2' && String(j.jobId).startsWith(op.body.id)),
      1,
    );
  });

  test('the controller holding a host is SIGKILLed mid-repair: the agent moves, the repair follows it, the service starts exactly once', async (t) => {
    const { cleanup, env, addrs, procs } = await threeControllers(t, servers, 'aa-kill');
    const [c1, c2, c3] = [procs[0]!, procs[1]!, procs[2]!];
    const services = await countingServices(cleanup, env, `aak${Math.random().toString(16).slice(2, 6)}-`, 2);
    // Held by c2 (not the leader); when c2 dies, c3 is next.
    const agent = await startAgent(
      cleanup,
      env,
      'aa-k1',
      [addrs[1]!, addrs[2]!, addrs[0]!],
      Object.fromEntries(services.map((s) => [s.name, slowService(s, 3)])),
    );
    await waitForLog(c2, 'agent connected', 60_000, (j) => j.hostId === 'aa-k1');
    const ids = await addProcesses(
      env.db,
      services.map((s) => s.name),
    );
    await raiseAlarms(env.db, ids);
    await waitForLog(agent, 'job started', 60_000);
    await c2.kill9();

    await waitForLog(c3, 'agent connected', 30_000, (j) => j.hostId === 'aa-k1');
    await waitAllCleared(env.db, ids, 60_000, () => `${c1.tail(30)}\n${c3.tail(30)}\n${agent.tail(30)}`);
    await assertEachRepairedExactlyOnce(env, ids, services);
    assert.ok(countLogs(c3, 'delivering a job for another controller', (j) => j.hostId === 'aa-k1') >= 1, 'c3 delivered the repairs after the move');
    assert.ok(countLogs(c1, 'job follows its host to another controller') >= 1, 'the leader re-routed the jobs in flight');
  });
});
