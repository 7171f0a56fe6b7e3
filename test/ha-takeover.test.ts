import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { useServers, freePort, useCleanup, waitFor, type ManagedProcess } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import {
  addProcesses,
  assertEachRepairedExactlyOnce,
  chaosEnv,
  countingServices,
  countLogs,
  findLog,
  raiseAlarms,
  slowService,
  startChaosAgent,
  startChaosController,
  waitAllCleared,
} from '@smgr/testing/chaos';
import { SimAgents } from '@smgr/testing/sim-agents';

const servers = useServers();

const logTime = (j: Record<string, unknown> | undefined) => Number(j?.time ?? NaN);

/** Two controllers (a, b) on one database and queue, both started; a is active. */
async function twoControllers(t: { after(fn: () => unknown): void }, label: string) {
  const cleanup = useCleanup(t);
  const env = await chaosEnv(cleanup, servers.mysql, servers.redis, label);
  const addrA = `127.0.0.1:${await freePort()}`;
  const addrB = `127.0.0.1:${await freePort()}`;
  const a = await startChaosController(cleanup, env, { id: 'ctl-a', grpcListen: addrA, running: (j) => j.role === 'active' });
  const b = await startChaosController(cleanup, env, { id: 'ctl-b', grpcListen: addrB, running: (j) => j.role === 'standby' });
  return { cleanup, env, a, b, addrA, addrB };
}

describe('two controllers on one database: one leads, both serve agents', () => {
  test('the standby serves agents too: it welcomes them and is not the leader', async (t) => {
    const { cleanup, b, addrB } = await twoControllers(t, 'ha-serve');
    const sims = new SimAgents({ address: addrB, credentials: credentials.createInsecure(), hostIds: ['sim-1'], reconnect: false });
    cleanup.add(() => sims.stop(), 'simulated agent');
    sims.start();
    await waitFor(() => sims.stats.welcomes === 1, { timeoutMs: 10_000, message: 'welcome from the standby' });
    assert.deepEqual(sims.stats.refusals, {});
    assert.equal(countLogs(b, 'this controller is now active'), 0);
    assert.equal(b.exitStatus, undefined);
  });

  test('when the active controller is killed the standby takes over and every alarm is repaired exactly once', async (t) => {
    const { cleanup, env, a, b, addrA, addrB } = await twoControllers(t, 'ha-kill');
    const services = await countingServices(cleanup, env, `ha${Math.random().toString(16).slice(2, 6)}-`, 6);
    const agents: ManagedProcess[] = [];
    for (const [i, host] of ['ha-h1', 'ha-h2'].entries()) {
      const mine = services.slice(i * 3, i * 3 + 3);
      const agent = await startChaosAgent(cleanup, env, {
        hostId: host,
        controllers: [addrA, addrB],
        services: Object.fromEntries(mine.map((s) => [s.name, slowService(s, 3)])),
        // Both on a, the leader, which the test kills: leader and stream holder die together.
        more: { agent: { controller_order: 'listed' } },
      });
      agents.push(agent);
      await waitForLog(a, 'agent connected', 20_000, (j) => j.hostId === host);
    }
    const ids = await addProcesses(
      env.db,
      services.map((s) => s.name),
    );
    await raiseAlarms(env.db, ids);
    await waitForLog(agents[0]!, 'job started', 20_000);
    const killedAt = Date.now();
    await a.kill9();

    await waitForLog(b, 'this controller is now active', 30_000);
    for (const host of ['ha-h1', 'ha-h2']) await waitForLog(b, 'agent connected', 30_000, (j) => j.hostId === host);
    await waitAllCleared(env.db, ids, 90_000, () => `${b.tail(40)}\n${agents.map((x) => x.tail(15)).join('\n')}`);
    await assertEachRepairedExactlyOnce(env, ids, services);

    const active = logTime(findLog(b, 'this controller is now active'));
    const reconnected = Math.max(...['ha-h1', 'ha-h2'].map((h) => logTime(findLog(b, 'agent connected', (j) => j.hostId === h))));
    t.diagnostic(`takeover: standby active ${active - killedAt} ms after the kill, agents back ${reconnected - killedAt} ms after it`);
    const [lease] = await env.db.query<{ holder: string }>("SELECT holder FROM smgr_leases WHERE name = 'controller'");
    assert.match(lease?.holder ?? '', /^ctl-b#/);
    assert.equal(countLogs(b, 'repair succeeded; alarm cleared'), ids.length, 'the standby recorded every outcome');
  });

  test('a cleanly stopped active controller releases its lease and the standby takes over at once', async (t) => {
    const { a, b } = await twoControllers(t, 'ha-term');
    const stoppedAt = Date.now();
    const exit = await a.stop('SIGTERM', 25_000);
    assert.equal(exit.code, 0);
    await waitForLog(b, 'this controller is now active', 10_000);
    t.diagnostic(`standby active ${logTime(findLog(b, 'this controller is now active')) - stoppedAt} ms after SIGTERM to the active one`);
    assert.ok(findLog(a, 'lease released'), 'the stopping controller released the lease');
  });
});
