/**
 * Alarm detection latency and alarm → cleared latency at the default
 * check_interval (0.2 s), with simulated agents that repair at once.
 *
 *   node --import tsx bench/controller-latency.ts [--quick]
 *
 * Alarms are raised one at a time at random gaps (20-120 ms), so they land
 * at every phase of the poll cycle. Detection = incident opened_at (the
 * controller's clock) − the moment the bench sent the UPDATE; cleared =
 * incident closed_at − the same moment. Same machine, same clock.
 */
import { credentials } from '@grpc/grpc-js';
import type { RowDataPacket } from 'mysql2/promise';
import { SimAgents } from '@smgr/testing/sim-agents';
import { benchStack, progress, quick, report, seedProcesses, sleep, summary } from './controller-bench-support.js';

const SAMPLES = quick ? 60 : 300;
const host = (i: number) => `lat-${String(i).padStart(4, '0')}`;

const stack = await benchStack();
let sims: SimAgents | undefined;
try {
  const controller = await stack.startController();
  const ids = await seedProcesses(stack.pool, SAMPLES, (i) => `svc-${host(i)}`);
  sims = new SimAgents({ address: `127.0.0.1:${stack.grpcPort}`, credentials: credentials.createInsecure(), hostIds: ids.map(host) });
  sims.start();
  while (sims.connectedCount() < SAMPLES) await sleep(50);
  progress(`${SAMPLES} simulated agents connected; raising ${SAMPLES} alarms one by one`);

  const raisedAt = new Map<number, number>();
  for (const id of ids) {
    await sleep(20 + Math.random() * 100);
    raisedAt.set(id, Date.now());
    await stack.pool.query('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = ?', [id]);
  }
  for (;;) {
    const [rows] = await stack.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma = 1');
    if (Number(rows[0]!.n) === 0) break;
    await sleep(100);
  }
  const [incidents] = await stack.pool.query<RowDataPacket[]>('SELECT process_id, opened_at, closed_at FROM smgr_incidents');
  const detection: number[] = [];
  const cleared: number[] = [];
  for (const r of incidents) {
    const t0 = raisedAt.get(r.process_id as number)!;
    detection.push((r.opened_at as Date).getTime() - t0);
    cleared.push((r.closed_at as Date).getTime() - t0);
  }
  const d = summary(detection);
  const c = summary(cleared);
  report({
    bench: 'controller-latency',
    params: { samples: SAMPLES, checkIntervalMs: 200, agents: SAMPLES, agentRepairMs: 0, units: 'ms' },
    results: { detectionMs: d, alarmToClearedMs: c, controllerErrors: controller.jsonLines().filter((j) => j.level >= 50).length },
    targets: { detectionP99Ms: 250 },
    met: { detectionP99: d.p99 <= 250 },
  });
} finally {
  sims?.stop();
  await stack.stop();
}
