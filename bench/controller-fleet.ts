/**
 * The controller at fleet scale, with simulated agents (many gRPC streams
 * from this process over shared connections, 100 per connection):
 *
 *   1. 1,000 agents connect; controller RSS.
 *   2. 1,000 alarms, one per agent, raised in one UPDATE: time until all are
 *      cleared, and per-alarm detection and alarm → cleared latencies.
 *   3. 9,000 more agents connect (10,000); controller RSS.
 *   4. Reconnect storm: the controller is killed (SIGKILL) and started again;
 *      the 10,000 agents reconnect with the real agent's full-jitter backoff
 *      (0.5 s base, 30 s cap). Time until all are back, errors on the way.
 *
 *   node --import tsx bench/controller-fleet.ts [--quick]     (--quick: 200 / 200 / 2,000)
 *
 * Everything runs on this machine: controller, MariaDB, Redis and the
 * simulator share its CPUs.
 */
import { credentials } from '@grpc/grpc-js';
import type { RowDataPacket } from 'mysql2/promise';
import { SimAgents } from '@smgr/testing/sim-agents';
import { benchStack, mib, progress, quick, report, rssBytes, seedProcesses, simHost, sleep, summary, until } from './controller-bench-support.js';

const FIRST = quick ? 200 : 1_000;
const ALL = quick ? 2_000 : 10_000;
const SETTLE_MS = 5_000;
const host = simHost;

const stack = await benchStack();
const sims: SimAgents[] = [];
const connected = () => sims.reduce((n, s) => n + s.connectedCount(), 0);
try {
  let controller = await stack.startController();
  const ids = await seedProcesses(stack.pool, FIRST, (i) => `svc-${host(i)}`);
  const address = `127.0.0.1:${stack.grpcPort}`;

  // 1. FIRST agents.
  const first = new SimAgents({ address, credentials: credentials.createInsecure(), hostIds: ids.map(host) });
  sims.push(first);
  first.start();
  const connectFirstMs = await until(`${FIRST} agents`, () => connected() === FIRST, 120_000);
  await sleep(SETTLE_MS);
  const rssFirst = rssBytes(controller.pid!);
  progress(`${FIRST} agents connected in ${connectFirstMs} ms; controller RSS ${mib(rssFirst)} MiB`);

  // 2. One alarm per agent, all at once.
  const t0 = Date.now();
  await stack.pool.query('UPDATE STATUS_PROCESS SET alarma = 1');
  const clearAllMs = await until(
    `${FIRST} alarms cleared`,
    async () => {
      const [rows] = await stack.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma = 1');
      return Number(rows[0]!.n) === 0;
    },
    300_000,
  );
  const [incidents] = await stack.pool.query<RowDataPacket[]>('SELECT opened_at, closed_at FROM smgr_incidents');
  if (incidents.length !== FIRST || incidents.some((r) => r.closed_at === null)) {
    throw new Error(`expected ${FIRST} closed incidents, found ${incidents.length} (${incidents.filter((r) => r.closed_at === null).length} open)`);
  }
  const detection = incidents.map((r) => (r.opened_at as Date).getTime() - t0);
  const cleared = incidents.map((r) => (r.closed_at as Date).getTime() - t0);
  const lastClosed = Math.max(...cleared);
  progress(`${FIRST} alarms cleared in ${clearAllMs} ms (last closed_at ${lastClosed} ms after the UPDATE)`);

  // 3. Up to ALL agents.
  const rest = new SimAgents({
    address,
    credentials: credentials.createInsecure(),
    hostIds: Array.from({ length: ALL - FIRST }, (_, i) => host(FIRST + i + 1)),
  });
  sims.push(rest);
  const t3 = Date.now();
  rest.start();
  await until(`${ALL} agents`, () => connected() === ALL, 300_000);
  const connectAllMs = Date.now() - t3;
  await sleep(SETTLE_MS);
  const rssAll = rssBytes(controller.pid!);
  progress(`${ALL} agents connected (${ALL - FIRST} new in ${connectAllMs} ms); controller RSS ${mib(rssAll)} MiB`);

  // 4. Reconnect storm.
  const killedAt = Date.now();
  await controller.kill9();
  controller = await stack.startController('controller-2');
  const runningMs = Date.now() - killedAt;
  // Streams broken by the kill itself are expected; count only what goes wrong after the restart.
  const errorsBefore = sims.reduce((n, s) => n + s.stats.streamErrors, 0);
  await controller.waitForLine((_, j) => j?.msg === 'this controller is now active', 60_000, 'active');
  const activeMs = Date.now() - killedAt;
  const settledMs = (await until(`${ALL} agents back`, () => connected() === ALL, 300_000)) + activeMs;
  const welcomes = controller.jsonLines().filter((j) => j.msg === 'agent connected').length;
  await sleep(SETTLE_MS);
  const rssAfterStorm = rssBytes(controller.pid!);
  const refusals: Record<string, number> = {};
  for (const s of sims) for (const [code, n] of Object.entries(s.stats.refusals)) refusals[code] = (refusals[code] ?? 0) + n;
  const controllerErrors = controller.jsonLines().filter((j) => j.level >= 50);
  progress(`storm settled ${settledMs} ms after the kill (controller active after ${activeMs} ms)`);

  report({
    bench: 'controller-fleet',
    params: {
      firstAgents: FIRST,
      alarms: FIRST,
      allAgents: ALL,
      agentsPerConnection: 100,
      heartbeatIntervalMs: 5_000,
      leaseTtlMs: 5_000,
      agentBackoff: 'full jitter, 500 ms base, 30 s cap',
      tls: 'plaintext (simulated agents share connections; mTLS needs one connection per agent)',
      units: { time: 'ms', memory: 'MiB' },
    },
    results: {
      connectFirstMs,
      controllerRssFirstMiB: mib(rssFirst),
      alarms: {
        allClearedMs: clearAllMs,
        lastClosedAfterMs: lastClosed,
        detectionMs: summary(detection),
        alarmToClearedMs: summary(cleared),
      },
      connectRestMs: connectAllMs,
      controllerRssAllMiB: mib(rssAll),
      storm: {
        controllerRunningAfterKillMs: runningMs,
        controllerActiveAfterKillMs: activeMs,
        allReconnectedAfterKillMs: settledMs,
        allReconnectedAfterActiveMs: settledMs - activeMs,
        welcomesLogged: welcomes,
        refusals,
        streamErrorsAfterRestart: sims.reduce((n, s) => n + s.stats.streamErrors, 0) - errorsBefore,
        controllerErrorLogs: controllerErrors.length,
        controllerErrorSamples: controllerErrors.slice(0, 3).map((j) => j.msg),
        controllerRssAfterMiB: mib(rssAfterStorm),
      },
    },
    targets: { alarmsClearedMs: 5_000, rss10kMiB: 1024, stormSettledMs: 30_000 },
    met: {
      alarmsCleared: clearAllMs <= 5_000,
      rss10k: mib(rssAll) <= 1024,
      stormSettled: settledMs <= 30_000 && controllerErrors.length === 0 && sims.reduce((n, s) => n + s.stats.streamErrors, 0) === errorsBefore,
    },
  });
} finally {
  for (const s of sims) s.stop();
  await stack.stop();
}
