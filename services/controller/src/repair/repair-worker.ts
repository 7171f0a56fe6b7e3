import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Operation, Outcome, type JobResult, type Logger } from '@smgr/shared';
import type { IncidentStore } from '../db/incident-store.js';
import type { AgentGateway } from '../agents/agent-gateway.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { REPAIR_QUEUE, repairBackoff, type RepairJobData } from './repair-queue.js';
import { noteTimestamp } from './notes.js';

export interface RepairWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  store: IncidentStore;
  gateway: AgentGateway;
  breaker: CircuitBreaker;
  jobTimeoutMs: number;
  retryDelayMs: number;
  concurrency?: number;
  log: Logger;
}

export type RepairOutcome = 'repaired' | 'failed' | 'stale';

/**
 * Consumes repair jobs: sends each to its host over the gateway, waits for
 * the agent's result and records it. The incident row decides whether a job
 * is still wanted, so a redelivered job (stalled, re-added) is harmless.
 */
export class RepairWorker {
  private readonly worker: Worker<RepairJobData, RepairOutcome>;
  private readonly log: Logger;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: RepairWorkerOptions) {
    this.log = opts.log.child({ component: 'repair-worker' });
    this.worker = new Worker<RepairJobData, RepairOutcome>(REPAIR_QUEUE, (job) => this.process(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      // Jobs mostly wait on the network; many can be in flight at once.
      concurrency: opts.concurrency ?? 200,
      // A killed controller's jobs are picked up again after ~lockDuration.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 1_000,
      settings: { backoffStrategy: (attemptsMade: number) => repairBackoff(attemptsMade) },
      autorun: false,
    });
    this.worker.on('failed', (job, err) =>
      this.log.warn({ jobId: job?.id, attemptsMade: job?.attemptsMade, err }, 'repair job attempt failed; BullMQ will retry'),
    );
    this.worker.on('error', (err) => this.log.error({ err }, 'repair worker error'));
  }

  start(): void {
    void this.worker.run();
  }

  /** Waits up to `graceMs` for jobs in flight, then closes regardless. Idempotent. */
  async stop(graceMs = 5_000): Promise<void> {
    this.closing ??= (async () => {
      const closed = this.worker.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      await this.worker.close(true);
    })();
    return this.closing;
  }

  private async process(job: Job<RepairJobData, RepairOutcome>): Promise<RepairOutcome> {
    const { store, gateway } = this.opts;
    const d = job.data;
    const log = this.log.child({ jobId: job.id, incidentId: d.incidentId, processId: d.processId, hostId: d.hostId });
    const inc = await store.getIncident(d.incidentId);
    if (!inc || inc.state !== 'dispatched' || inc.jobId !== job.id) {
      log.info({ state: inc?.state, currentJobId: inc?.jobId }, 'repair job no longer wanted; skipped');
      return 'stale';
    }
    const started = Date.now();
    let result: JobResult | null = null;
    let error: string | null = null;
    try {
      result = await gateway.runJob(d.hostId, { jobId: job.id!, operation: Operation.RESTART, service: d.service }, this.opts.jobTimeoutMs);
    } catch (err) {
      if ((err as { code?: string }).code === 'CONTROLLER_STOPPING') throw err;
      error = (err as Error).message;
    }
    const success = result?.outcome === Outcome.SUCCEEDED;
    const now = Date.now();
    const before = await store.breakerState(d.processId, d.hostId);
    const breaker = success ? this.opts.breaker.onSuccess() : this.opts.breaker.onFailure(before, now);
    const summary = result ? result.message || Outcome[result.outcome] : (error ?? 'no result');
    let note = success ? summary : `repair failed on ${d.hostId}: ${summary}`;
    if (!success && breaker.openUntil !== null) note = `circuit open until ${noteTimestamp(new Date(breaker.openUntil))}; ${note}`;
    const retryAt = success ? null : new Date(Math.max(now + this.opts.retryDelayMs, breaker.openUntil ?? 0));
    const written = await store.recordOutcome({
      inc,
      jobId: job.id!,
      success,
      note,
      breaker,
      retryAt,
      event: {
        kind: 'repair',
        processId: d.processId,
        incidentId: d.incidentId,
        hostId: d.hostId,
        service: d.service,
        jobId: job.id!,
        outcome: success ? 'succeeded' : result ? (Outcome[result.outcome] ?? 'failed').toLowerCase() : 'no_result',
        strategy: result?.strategy ?? null,
        durationMs: result ? Number(result.durationMs) : now - started,
        message: note,
        detail: result ? resultDetail(result) : { error },
      },
    });
    if (!written) {
      log.info('outcome already recorded; skipped');
      return 'stale';
    }
    const fields = {
      service: d.service,
      strategy: result?.strategy,
      durationMs: result ? Number(result.durationMs) : now - started,
      replayed: result?.replayed ?? false,
      failures: breaker.consecutiveFailures,
    };
    if (success) log.info(fields, 'repair succeeded; alarm cleared');
    else log.warn({ ...fields, reason: summary, breakerOpenUntil: breaker.openUntil }, 'repair failed; alarm stays set');
    return success ? 'repaired' : 'failed';
  }
}

/** The stored form of an agent's result: steps with exit codes, durations and output tails. */
function resultDetail(r: JobResult): unknown {
  return {
    outcome: Outcome[r.outcome],
    strategy: r.strategy,
    message: r.message,
    attempts: r.attempts,
    replayed: r.replayed,
    durationMs: Number(r.durationMs),
    steps: r.steps.map((s) => ({
      name: s.name,
      argv: s.argv,
      exitCode: s.exitCode,
      signal: s.signal || undefined,
      ok: s.ok,
      timedOut: s.timedOut || undefined,
      durationMs: Number(s.durationMs),
      error: s.error || undefined,
      outputTail: s.outputTail,
    })),
  };
}
