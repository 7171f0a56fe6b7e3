import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { useServers, useCleanup } from '@smgr/testing';
import { assertEachRepairedExactlyOnce, countLogs, startSlowRepairs, waitAllCleared } from '@smgr/testing/chaos';

const servers = useServers();

test('MySQL stopped for 20 s while repairs run: every alarm is cleared once the database is back, each repair run once', async (t) => {
  if (servers.mysql.external) return t.skip('SMGR_TEST_MYSQL_URL: the server cannot be stopped');
  const sc = await startSlowRepairs(useCleanup(t), servers, { label: 'mysql', n: 4, preRestartSeconds: 3 });
  const { controller, agent } = sc;
  const down = Date.now();
  await servers.mysql.stopServer();
  // The jobs finish at the agent meanwhile; their results cannot be recorded.
  await sleep(Math.max(0, 20_000 - (Date.now() - down)));
  await servers.mysql.startServer();
  const up = Date.now();

  await waitAllCleared(sc.env.db, sc.ids, 90_000, sc.context([controller, agent]));
  t.diagnostic(`MySQL down ${up - down} ms; all alarms cleared ${Date.now() - up} ms after it came back`);
  await assertEachRepairedExactlyOnce(sc.env, sc.ids, sc.services);
  assert.equal(controller.exitStatus, undefined, 'the controller rode out the outage');
  assert.ok(countLogs(controller, 'this controller is now standby') >= 1, 'it stepped down when it could no longer renew its lease');
  assert.ok(countLogs(controller, 'this controller is now active') >= 2, 'and took the lease again once MySQL was back');
});
