import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { useServers, useCleanup } from '@smgr/testing';
import { assertEachRepairedExactlyOnce, countLogs, startSlowRepairs, waitAllCleared } from '@smgr/testing/chaos';

const servers = useServers();

test('Redis restarting empty while repairs run loses no alarm and runs no repair twice', async (t) => {
  if (servers.redis.external) return t.skip('SMGR_TEST_REDIS_URL: the server cannot be restarted');
  // Repairs take 8 s at the agent: the controller reconciles (every 5 s) while they still run.
  const sc = await startSlowRepairs(useCleanup(t), servers, { label: 'redis', n: 4, preRestartSeconds: 8 });
  const { controller, agent } = sc;
  // Without persistence the restarted Redis is empty: every queued and active job is gone.
  await servers.redis.stopServer();
  await sleep(1_000);
  await servers.redis.startServer();

  await waitAllCleared(sc.env.db, sc.ids, 90_000, sc.context([controller, agent]));
  await assertEachRepairedExactlyOnce(sc.env, sc.ids, sc.services);
  const readded = countLogs(controller, 'repair job missing from the queue; re-added');
  assert.ok(readded >= 1, `jobs lost with Redis were re-added from their incidents\n${controller.tail()}`);
  assert.equal(controller.exitStatus, undefined, 'the controller kept running');
  t.diagnostic(`${readded} lost job(s) re-added from MySQL`);
});
