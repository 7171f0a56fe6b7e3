import { randomBytes } from 'node:crypto';
import { Operation, Outcome, type JobResult, type Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { selectHosts, type HostDirectory, type HostSelector } from '../rollouts/host-selection.js';
import type { JobSender } from '../rollouts/rollout-runner.js';

/** Operations the API sends to hosts (seed 003's lifecycle plus the seed 002 restart). */
export type OperationName = 'restart' | 'start' | 'stop' | 'status' | 'update';
export const OPERATION_NAMES: readonly OperationName[] = ['restart', 'start', 'stop', 'status', 'update'];

const TO_PROTO: Record<OperationName, Operation> = {
  restart: Operation.RESTART,
  start: Operation.START,
  stop: Operation.STOP,
  status: Operation.STATUS,
  update: Operation.UPDATE,
};

export interface OperationRequest {
  operation: OperationName;
  service: string;
  selector: HostSelector;
  version?: string;
  timeoutMs: number;
}

/** How one host's part ended; `unavailable` was not sent (host not connected) or never answered. */
export type HostOutcome = 'succeeded' | 'failed' | 'refused' | 'unavailable';

export interface HostOperationResult {
  hostId: string;
  outcome: HostOutcome;
  message: string;
  version: string;
  strategy: string;
  durationMs: number;
  jobId: string;
}

export interface OperationReport {
  operationId: string;
  operation: OperationName;
  service: string;
  version?: string;
  ok: boolean;
  summary: Record<HostOutcome, number>;
  results: HostOperationResult[];
}

/**
 * Runs one operation on the selected hosts at once and waits for every
 * result (or the timeout). Hosts that are not connected are reported
 * `unavailable` and sent nothing, so no stale restart happens when they come
 * back later. Each host's result is written to smgr_events.
 *
 * @throws NotFoundError / RefusedError from host selection (unknown service or hosts, empty selector)
 */
export async function runOperation(
  deps: { hosts: HostDirectory; jobs: JobSender & { isConnected(hostId: string): boolean }; pool: DbPool; log: Logger },
  req: OperationRequest,
  by: string,
): Promise<OperationReport> {
  const hosts = selectHosts(deps.hosts, req.service, req.selector, { requireConnected: false });
  const operationId = `op-${randomBytes(6).toString('hex')}`;
  const log = deps.log.child({ component: 'operations', operationId });
  log.info({ operation: req.operation, service: req.service, hosts: hosts.length, by }, 'operation started');
  const results = await Promise.all(
    hosts.map(async (hostId, i): Promise<HostOperationResult> => {
      const jobId = `${operationId}-${i}`;
      const started = Date.now();
      if (!deps.jobs.isConnected(hostId)) {
        return { hostId, outcome: 'unavailable', message: 'host not connected; nothing sent', version: '', strategy: '', durationMs: 0, jobId };
      }
      try {
        const r = await deps.jobs.runJob(
          hostId,
          { jobId, operation: TO_PROTO[req.operation], service: req.service, ...(req.version ? { version: req.version } : {}) },
          req.timeoutMs,
        );
        return fromResult(hostId, jobId, r);
      } catch (err) {
        return { hostId, outcome: 'unavailable', message: (err as Error).message, version: '', strategy: '', durationMs: Date.now() - started, jobId };
      }
    }),
  );
  const summary: Record<HostOutcome, number> = { succeeded: 0, failed: 0, refused: 0, unavailable: 0 };
  for (const r of results) summary[r.outcome] += 1;
  await recordEvents(deps.pool, req, results, by).catch((err) => log.error({ err }, 'operation events not written'));
  log.info({ operation: req.operation, service: req.service, ...summary }, 'operation finished');
  return {
    operationId,
    operation: req.operation,
    service: req.service,
    ...(req.version ? { version: req.version } : {}),
    ok: summary.succeeded === results.length,
    summary,
    results,
  };
}

function fromResult(hostId: string, jobId: string, r: JobResult): HostOperationResult {
  const outcome: HostOutcome =
    r.outcome === Outcome.SUCCEEDED ? 'succeeded' : r.outcome === Outcome.REFUSED ? 'refused' : 'failed';
  return {
    hostId,
    outcome,
    message: r.message,
    version: r.version,
    strategy: r.strategy,
    durationMs: Number(r.durationMs),
    jobId,
  };
}

async function recordEvents(pool: DbPool, req: OperationRequest, results: HostOperationResult[], by: string): Promise<void> {
  if (results.length === 0) return;
  const at = new Date();
  await pool.query(
    `INSERT INTO smgr_events (at, kind, host_id, service, job_id, outcome, strategy, duration_ms, message, detail) VALUES ?`,
    [
      results.map((r) => [
        at,
        'operation',
        r.hostId,
        req.service,
        r.jobId,
        r.outcome,
        r.strategy.slice(0, 32),
        r.durationMs,
        `${req.operation}${req.version ? ` ${req.version}` : ''} by ${by}: ${r.message}`.slice(0, 1024),
        JSON.stringify({ operation: req.operation, version: req.version ?? null, by }),
      ]),
    ],
  );
}
