/**
 * Rollout overhead: what the rollout machinery adds per batch beyond the
 * services' own update time, with 100 simulated agents in batches of 10.
 *
 *   node --import tsx bench/rollout-overhead.ts [--quick]     (--quick: 1 rollout instead of 3)
 *
 * A real controller (compiled JS, API on) drives real rollouts through the
 * HTTP API, MySQL and gRPC; the agents are simulated (packages/testing/src/support/sim-agents.ts):
 * STATUS answers at once with the installed version, UPDATE takes
 * UPDATE_MS and then reports the new version. With min_healthy_time 0 the
 * health gate is one STATUS probe. So per batch:
 *
 *   batch wall time = UPDATE_MS (the service's own time) + overhead
 *   overhead = STATUS pre-check + UPDATE round trip + probe round trip
 *            + every transition written to MySQL + the step to the next batch
 *
 * measured from the rollout's own records (smgr_rollout_hosts started_at /
 * finished_at, ms precision): per batch, from its first host starting to the
 * next batch's first host starting (the last batch: to the rollout finishing),
 * minus UPDATE_MS. Target: <= 200 ms per batch.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { Operation, Outcome, type JobRequest } from '@smgr/shared';
import { SimAgents } from '@smgr/testing/sim-agents';
import { CONTROLLER_MAIN } from '@smgr/testing/smgr';
import { benchStack, progress, quick, report, sleep, summary } from './controller-bench-support.js';

const AGENTS = 100;
const BATCH = 10;
const UPDATE_MS = 200;
const RUNS = quick ? 1 : 3;
const TARGET_MS = 200;
const SERVICE = 'bench-svc';
const host = (i: number) => `sim-${String(i).padStart(3, '0')}`;

const stack = await benchStack({ api: { enabled: true, insecure: true }, controller: { api_listen: '127.0.0.1:0' } });
let sims: SimAgents | null = null;
try {
  progress('starting the controller');
  const controller = await stack.startController();
  const apiLine = await controller.waitForLine((_, j) => j?.msg === 'api listening', 30_000, 'api listening');
  const url = `http://127.0.0.1:${Number(apiLine.json?.port)}`;
  const { stdout } = await promisify(execFile)(process.execPath, [
    CONTROLLER_MAIN,
    '--config',
    stack.configPath,
    'token',
    'create',
    'bench',
    '--role',
    'admin',
  ]);
  const token = stdout.trim();
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  const installed = new Map<string, string>();
  const hostIds = Array.from({ length: AGENTS }, (_, i) => host(i + 1));
  for (const h of hostIds) installed.set(h, '1.0');
  let jobs = 0;
  sims = new SimAgents({
    address: `127.0.0.1:${stack.grpcPort}`,
    credentials: credentials.createInsecure(),
    hostIds,
    services: () => [SERVICE],
    onJob: async (hostId: string, req: JobRequest) => {
      jobs++;
      const base = { jobId: req.jobId, service: req.service, operation: req.operation, strategy: 'sim', startedAtMs: BigInt(Date.now()), attempts: 1 };
      if (req.operation === Operation.UPDATE) {
        await sleep(UPDATE_MS);
        installed.set(hostId, req.version);
        return { ...base, outcome: Outcome.SUCCEEDED, message: `updated to ${req.version}`, version: req.version, durationMs: BigInt(UPDATE_MS) };
      }
      return { ...base, outcome: Outcome.SUCCEEDED, message: 'up', version: installed.get(hostId) ?? '', durationMs: 0n };
    },
  });
  sims.start();
  progress(`waiting for ${AGENTS} simulated agents`);
  for (const t0 = Date.now(); (await api('GET', '/v1/hosts?connected=true')).hosts.length < AGENTS; ) {
    if (Date.now() - t0 > 60_000) throw new Error('agents did not connect within 60 s');
    await sleep(100);
  }

  const perBatch: number[] = [];
  const perRollout: { version: string; totalMs: number; batches: number; overheadPerBatchMs: number; eachBatchMs: number[] }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const version = `${run + 2}.0`;
    progress(`rollout to ${version}: ${AGENTS} hosts, batches of ${BATCH}`);
    const created = await api('POST', '/v1/rollouts', {
      service: SERVICE,
      version,
      batchSize: BATCH,
      minHealthySeconds: 0,
      probeIntervalSeconds: 0.05,
      healthyDeadlineSeconds: 60,
    });
    let view: any;
    for (;;) {
      view = await api('GET', `/v1/rollouts/${created.id}`);
      if (!['running', 'paused', 'awaiting_promotion'].includes(view.state)) break;
      await sleep(100);
    }
    if (view.state !== 'succeeded') throw new Error(`rollout ${created.id} ended ${view.state}: ${view.message}`);
    const batches = new Map<number, { start: number; end: number }>();
    for (const h of view.hosts) {
      const b = batches.get(h.batch) ?? { start: Infinity, end: -Infinity };
      b.start = Math.min(b.start, Date.parse(h.startedAt));
      b.end = Math.max(b.end, Date.parse(h.finishedAt));
      batches.set(h.batch, b);
    }
    const order = [...batches.keys()].sort((a, b) => a - b);
    const finished = Date.parse(view.finishedAt);
    const eachBatchMs = order.map((b, i) => {
      const next = order[i + 1] === undefined ? finished : batches.get(order[i + 1]!)!.start;
      return next - batches.get(b)!.start - UPDATE_MS;
    });
    perBatch.push(...eachBatchMs);
    const totalMs = finished - Date.parse(view.createdAt);
    perRollout.push({ version, totalMs, batches: order.length, overheadPerBatchMs: Math.round((totalMs / order.length - UPDATE_MS) * 10) / 10, eachBatchMs });
  }

  const s = summary(perBatch);
  const mean = Math.round((perBatch.reduce((a, b) => a + b, 0) / perBatch.length) * 10) / 10;
  report({
    bench: 'rollout-overhead',
    agents: AGENTS,
    batchSize: BATCH,
    simulatedUpdateMs: UPDATE_MS,
    healthGate: 'min_healthy_time 0 (one STATUS probe)',
    rollouts: perRollout,
    overheadPerBatchMs: { mean, ...s },
    agentJobs: jobs,
    targetMs: TARGET_MS,
    meetsTarget: s.p90 <= TARGET_MS,
  });
} finally {
  sims?.stop();
  await stack.stop();
}
