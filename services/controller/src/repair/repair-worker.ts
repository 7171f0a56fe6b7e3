import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Operation, type JobResult, type Logger } from '@smgr/shared';
import type { BreakerState } from './circuit-breaker.js';
import type { Incident, IncidentStore } from './incident-store.js';
import type { OutcomeStore, OutcomeToRecord } from './outcome-store.js';
import type { JobSender } from '../agents/agent-jobs.js';
import type { ControllerMetrics } from '../metrics/controller-metrics.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { REPAIR_QUEUE, repairBackoff, type RepairJobData } from './repair-queue.js';
import { closeQuietly, logQueueError, runWorker } from '../db/bullmq.js';
import { decideRepair, repairAttempt } from './repair-decision.js';
import { Batcher } from './batcher.js';
import { resultDetail } from '../history/result-detail.js';

export interface RepairWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  store: IncidentStore;
  outcomes: OutcomeStore;
  /** Where jobs go: JobRouter (the host's stream, on whichever controller holds it). */
  jobs: JobSender;
  breaker: CircuitBreaker;
  jobTimeoutMs: number;
  retryDelayMs: number;
  concurrency?: number;
  log: Logger;
  metrics?: ControllerMetrics;
}

/**
 * Errors that mean "this controller let go of the job", not "the repair
 * failed": the job is thrown back to BullMQ, which retries it (here or on the
 * controller that is active now) under the same job id.
 */
const HANDED_BACK = new Set(['CONTROLLER_STOPPING', 'NOT_ACTIVE']);

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
  /** Many jobs finish at once at fleet scale: their reads and outcome writes are grouped into shared round trips. */
  private readonly incidents: Batcher<number, Incident | null>;
  private readonly outcomes: Batcher<OutcomeToRecord, boolean>;

  constructor(private readonly opts: RepairWorkerOptions) {
    this.log = opts.log.child({ component: 'repair-worker' });
    this.incidents = new Batcher((ids) => opts.store.getIncidents(ids));
    this.outcomes = new Batcher((items) => opts.outcomes.record(items));
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
    runWorker(this.worker, logQueueError(this.log, 'debug', 'repair worker loop ended at close'));
  }

  /**
   * Takes no new jobs and lets the ones in flight finish for up to `graceMs`;
   * then calls `handBack` (which should make the jobs still waiting on agents
   * fail retryably, see JobRouter.handBack) so BullMQ puts them back in the
   * queue for whoever runs next. Gives up after a further 2 s and leaves any
   * job still locked to BullMQ's stalled-job recovery. Idempotent.
   */
  async stop(graceMs = 3_000, handBack: () => void = () => undefined): Promise<void> {
    this.closing ??= (async () => {
      const closed = closeQuietly(this.worker).catch((err) => this.log.warn({ err }, 'repair worker close failed'));
      if (await settlesWithin(closed, graceMs)) return;
      handBack();
      if (await settlesWithin(closed, 2_000)) return;
      this.log.warn('jobs still running after hand-back; leaving them to stalled-job recovery');
      await closeQuietly(this.worker, true).catch(() => undefined);
    })();
    return this.closing;
  }

  private async process(job: Job<RepairJobData, RepairOutcome>): Promise<RepairOutcome> {
    const { jobs } = this.opts;
    const pointer = job.data;
    let log = this.log.child({ jobId: job.id, incidentId: pointer.incidentId });
    const inc = await this.incidents.submit(pointer.incidentId);
    if (inc?.state !== 'dispatched' || inc.jobId !== job.id || inc.hostId === null || inc.service === null) {
      log.info({ state: inc?.state, currentJobId: inc?.jobId }, 'repair job no longer wanted; skipped');
      return 'stale';
    }
    // Where and what to restart come from MySQL, never from the job: whoever can write to Redis cannot redirect a restart.
    const d = { incidentId: inc.id, processId: inc.processId, hostId: inc.hostId, service: inc.service };
    log = log.child({ processId: d.processId, hostId: d.hostId });
    if (pointer.hostId !== d.hostId || pointer.service !== d.service || pointer.processId !== d.processId) {
      log.warn(
        { jobHostId: String(pointer.hostId).slice(0, 255), jobService: String(pointer.service).slice(0, 255), service: d.service },
        'repair job data disagrees with its incident; the incident is used',
      );
    }
    const started = Date.now();
    let result: JobResult | null = null;
    let error: string | null = null;
    try {
      result = await jobs.runJob(d.hostId, { jobId: job.id!, operation: Operation.RESTART, service: d.service }, this.opts.jobTimeoutMs);
    } catch (err) {
      if (HANDED_BACK.has((err as { code?: string }).code ?? '')) {
        log.info({ code: (err as { code?: string }).code }, 'repair job handed back');
        throw err;
      }
      error = (err as Error).message;
    }
    const attempt = repairAttempt(result, error);
    const { success, summary, outcome } = attempt;
    const now = Date.now();
    let breaker = this.opts.breaker.onSuccess();
    const written = await this.outcomes.submit({
      inc,
      jobId: job.id!,
      success,
      // A result without its agent-side times (a replayed or malformed one) cannot say what came after it.
      ...(success && result && result.startedAtMs > 0n
        ? {
            finishedOnAgent: {
              hostId: d.hostId,
              service: d.service,
              atMs: Number(result.startedAtMs) + Number(result.durationMs),
              sentAtMs: started,
            },
          }
        : {}),
      decide: (before: BreakerState) => {
        const decision = decideRepair({ attempt, hostId: d.hostId, before, breaker: this.opts.breaker, now, retryDelayMs: this.opts.retryDelayMs });
        breaker = decision.breaker;
        return {
          ...decision,
          event: {
            kind: 'repair',
            processId: d.processId,
            incidentId: d.incidentId,
            hostId: d.hostId,
            service: d.service,
            jobId: job.id!,
            outcome,
            strategy: result?.strategy ?? null,
            durationMs: result ? Number(result.durationMs) : now - started,
            message: decision.note,
            detail: result ? resultDetail(result) : { error },
          },
        };
      },
    });
    if (!written) {
      log.info('outcome already recorded; skipped');
      return 'stale';
    }
    this.opts.metrics?.repairs.inc({ outcome });
    this.opts.metrics?.repairDuration.observe({ outcome }, (now - started) / 1000);
    if (success) this.opts.metrics?.alarmToCleared.observe((Date.now() - inc.openedAt) / 1000);
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

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
