import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServers, createNetLab, useCleanup, waitFor } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import {
  addProcesses,
  assertEachRepairedExactlyOnce,
  chaosEnv,
  countLogs,
  countingServices,
  raiseAlarms,
  slowService,
  startChaosAgent,
  startChaosController,
  waitAllCleared,
} from '@smgr/testing/chaos';

const servers = useServers();

test('an agent cut off from the network mid-job finishes it, and the controller collects the result on reconnect without a second run', async (t) => {
  if (servers.mysql.external || servers.redis.external) return t.skip("needs the throwaway servers' UNIX sockets");
  const cleanup = useCleanup(t);
  const env = await chaosEnv(cleanup, servers.mysql, servers.redis, 'cutoff');
  const lab = await createNetLab('cutoff');
  cleanup.add(() => lab.stop(), 'net lab');
  const ctlHost = await lab.addHost('ctl');
  const h1 = await lab.addHost('h1');
  const services = await countingServices(cleanup, env, `cut${Math.random().toString(16).slice(2, 6)}-`, 2);
  const ids = await addProcesses(
    env.db,
    services.map((s) => s.name),
  );
  const grpc = `${ctlHost.address}:7443`;
  // The controller lives in its namespace and reaches MariaDB and Redis through their sockets.
  const controller = await startChaosController(cleanup, env, {
    id: 'ctl-cutoff',
    grpcListen: grpc,
    sockets: true,
    // Plaintext on the lab's namespace address, which only this test's namespaces reach.
    more: { controller: { allow_insecure_remote: true } },
    host: ctlHost,
  });
  // Each repair takes 4 s at the agent: long enough to cut the link while it runs.
  const slow = Object.fromEntries(services.map((s) => [s.name, slowService(s, 4)]));
  const agent = await startChaosAgent(cleanup, env, { hostId: 'h1', controllers: [grpc], services: slow, host: h1 });
  await waitForLog(controller, 'agent connected', 20_000);

  await raiseAlarms(env.db, ids);
  await waitForLog(agent, 'job started', 20_000);
  await h1.linkDown();
  const cut = Date.now();
  // Both sides notice: the controller by the heartbeat TTL, the agent by missing acks; the jobs run on.
  await waitForLog(controller, 'agent missed heartbeats; marked down', 20_000);
  await waitFor(() => countLogs(agent, 'job finished') === services.length, { timeoutMs: 20_000, message: 'jobs finished at the cut-off agent' });
  const [row] = await env.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma = 1');
  assert.equal(Number(row?.n), services.length, 'no outcome could be recorded while the agent was cut off');
  await h1.linkUp();
  const restored = Date.now();

  await waitAllCleared(env.db, ids, 90_000, () => `${controller.tail(30)}\n${agent.tail(30)}`);
  t.diagnostic(`link down ${restored - cut} ms; alarms cleared ${Date.now() - restored} ms after the link came back`);
  await assertEachRepairedExactlyOnce(env, ids, services);
  const replayed = countLogs(controller, 'repair succeeded; alarm cleared', (j) => j.replayed === true);
  assert.equal(replayed, services.length, 'every result came from the agent journal after the re-send');
});
