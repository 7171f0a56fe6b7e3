import { create, JobRequestSchema, JobResultSchema, Operation, Outcome, type JobRequest, type JobResult, type Logger, type ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import { toStepResult } from '../exec/to-step-result.js';
import type { OperationResult } from '../lifecycle/operation-result.js';
import { rankOrder } from '../lifecycle/rank-order.js';
import { VERSION_RE } from '../lifecycle/status-update.js';
import type { RestartStrategy } from '../lifecycle/restart-strategy.js';
import type { HeldServices } from '../watch/held-services.js';
import type { JobJournal } from './job-journal.js';
import { ALL_SERVICES_OPERATIONS, SERVICE_OPERATIONS, runOperation } from './run-operation.js';
import { ServiceLocks } from './service-locks.js';

export interface JobRunnerOptions {
  services: readonly ProcessConfig[];
  strategies: (service: ProcessConfig) => RestartStrategy;
  journal: JobJournal;
  /** Services stopped on purpose; STOP adds, START/RESTART/UPDATE remove. */
  holds: HeldServices;
  stateDir: string;
  tailBytes: number;
  /** agent.allow_stop_all: accept STOP for "*"; default false. */
  allowStopAll?: boolean;
  log: Logger;
  /**
   * Told when an operation on one service starts and when it ends (also for
   * each service of a "*" job); the watch uses it to end failing spells.
   */
  onOperation?: (e: OperationNotice) => void;
}

/** An operation on one service starting (`ok` undefined) or finished. */
export interface OperationNotice {
  service: string;
  operation: Operation;
  ok?: boolean;
}

/** The service name that means "every service of this agent, by startup_rank". */
export const ALL_SERVICES = '*';

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Output kept per step of a "*" job: the result of 100 services must stay far below the 1 MB frame. */
const ALL_SERVICES_TAIL = 256;
/** A controller's deadline_ms is honoured up to a day. */
const MAX_DEADLINE_MS = 86_400_000;

/**
 * Runs the controller's jobs on this host. Only services in the local config
 * and known operations are run; anything else is refused, never executed.
 * A job id is run at most once (JobJournal), and operations on one service
 * run one after another (ServiceLocks); a "*" job takes each service's turn
 * in rank order.
 */
export class JobRunner {
  private readonly services = new Map<string, ProcessConfig>();
  private readonly running = new Map<string, Promise<JobResult>>();
  private readonly locks = new ServiceLocks();
  private readonly log: Logger;

  constructor(private readonly opts: JobRunnerOptions) {
    for (const s of opts.services) this.services.set(s.name, s);
    this.log = opts.log.child({ component: 'job-runner' });
  }

  activeJobIds(): string[] {
    return [...this.running.keys()];
  }

  /** True while an operation runs or waits on this service. */
  isBusy(service: string): boolean {
    return this.locks.isBusy(service) || this.locks.isBusy(ALL_SERVICES);
  }

  /** Resolves with the job's result; never rejects. */
  handle(req: JobRequest): Promise<JobResult> {
    const inFlight = this.running.get(req.jobId);
    if (inFlight) return inFlight;
    const known = JOB_ID_RE.test(req.jobId) ? this.opts.journal.get(req.jobId) : undefined;
    if (known?.state === 'done') {
      this.log.info({ jobId: req.jobId, service: req.service }, 'job already done; result replayed');
      return Promise.resolve(create(JobResultSchema, { ...known.result, replayed: true }));
    }
    if (known?.state === 'started') {
      return Promise.resolve(this.refuse(req, Outcome.FAILED, 'the agent restarted while this job ran; its outcome is unknown and it is not run twice'));
    }
    const problem = this.validate(req);
    if (problem) {
      this.log.warn({ jobId: req.jobId, service: req.service.slice(0, 100), operation: req.operation, reason: problem }, 'job refused');
      return Promise.resolve(this.refuse(req, Outcome.REFUSED, problem));
    }
    const p =
      req.service === ALL_SERVICES
        ? this.locks.run(ALL_SERVICES, () => this.executeAll(req))
        : this.locks.run(req.service, () => this.execute(req, this.services.get(req.service)!));
    this.running.set(req.jobId, p);
    void p.finally(() => this.running.delete(req.jobId));
    return p;
  }

  private validate(req: JobRequest): string | null {
    if (!JOB_ID_RE.test(req.jobId)) return 'malformed job id';
    const op = Operation[req.operation] ?? String(req.operation);
    if (req.service === ALL_SERVICES) {
      if (!ALL_SERVICES_OPERATIONS.has(req.operation)) {
        return `operation ${op} is not supported for "*" (all services): only START, STOP and STATUS are`;
      }
      if (req.operation === Operation.STOP && this.opts.allowStopAll !== true) {
        return 'STOP of "*" (every service of this agent) is refused here: set [agent] allow_stop_all = true in this agent\'s config to allow it';
      }
      return null;
    }
    if (!this.services.has(req.service)) {
      return `unknown service ${JSON.stringify(req.service.slice(0, 60))}: not in this agent's config`;
    }
    if (!SERVICE_OPERATIONS.has(req.operation)) return `operation ${op} is not supported by this agent`;
    if (req.operation === Operation.ACTION) {
      const service = this.services.get(req.service)!;
      if (!service.actions.some((a) => a.name === req.action)) {
        const defined = service.actions.map((a) => a.name);
        return `action ${JSON.stringify(req.action.slice(0, 64))} is not defined for ${service.name} in this agent's config (${defined.length ? `defined: ${defined.join(', ')}` : 'it defines no action[] entries'})`;
      }
    }
    if (req.operation === Operation.UPDATE && !VERSION_RE.test(req.version)) {
      return req.version === ''
        ? 'UPDATE needs a version'
        : `version ${JSON.stringify(req.version.slice(0, 60))} is not allowed: letters, digits and . _ + : ~ - only, 128 at most`;
    }
    return null;
  }

  private deadlineFor(req: JobRequest, fallbackMs: number): number {
    return req.deadlineMs > 0 ? Math.min(req.deadlineMs, MAX_DEADLINE_MS) : fallbackMs;
  }

  private async execute(req: JobRequest, service: ProcessConfig): Promise<JobResult> {
    const started = Date.now();
    await this.opts.journal.markStarted(req.jobId);
    const log = this.log.child({ jobId: req.jobId, service: service.name });
    log.info({ operation: Operation[req.operation], version: req.version || undefined, action: req.action || undefined }, 'job started');
    const r = await this.operate(req, service, this.deadlineFor(req, service.operationTimeoutMs), log);
    const result = this.toResult(req, r, started);
    await this.opts.journal.markDone(result);
    log[r.ok ? 'info' : 'warn'](
      { operation: Operation[req.operation], ok: r.ok, strategy: r.strategy, attempts: r.attempts, durationMs: Date.now() - started, message: r.message },
      'job finished',
    );
    return result;
  }

  /**
   * One operation on one service (the lock is the caller's), with its log
   * lines and hold bookkeeping (`holds` false: a container's own start and
   * shutdown, which must not make the next start-up leave a service down).
   */
  private async operate(req: JobRequest, service: ProcessConfig, deadlineMs: number, log: Logger, holds = true): Promise<OperationResult> {
    this.opts.onOperation?.({ service: service.name, operation: req.operation });
    const r = await runOperation({
      operation: req.operation,
      service,
      strategy: this.opts.strategies(service),
      version: req.version,
      action: req.action,
      deadlineMs,
      tailBytes: this.opts.tailBytes,
      stateDir: this.opts.stateDir,
    });
    for (const s of r.steps) {
      log.info(
        {
          step: s.name,
          argv: s.argv,
          exitCode: s.exitCode,
          signal: s.signal || undefined,
          timedOut: s.timedOut,
          durationMs: s.durationMs,
          ok: s.ok,
          error: s.error || undefined,
        },
        'step finished',
      );
    }
    if (holds && r.ok && req.operation === Operation.STOP) this.opts.holds.hold(service.name);
    if (holds && r.ok && (req.operation === Operation.START || req.operation === Operation.RESTART || req.operation === Operation.UPDATE)) {
      this.opts.holds.release(service.name);
    }
    this.opts.onOperation?.({ service: service.name, operation: req.operation, ok: r.ok });
    return r;
  }

  /**
   * seed 003 startup rank on a whole host: START by ascending startup_rank,
   * stopping at the first failure (what ranks above it depends on it); STOP
   * by descending rank, trying every service; STATUS of every service.
   */
  private async executeAll(req: JobRequest): Promise<JobResult> {
    const started = Date.now();
    await this.opts.journal.markStarted(req.jobId);
    const log = this.log.child({ jobId: req.jobId, service: ALL_SERVICES });
    const budget = this.deadlineFor(
      req,
      [...this.services.values()].reduce((sum, s) => sum + s.operationTimeoutMs, 0),
    );
    const until = Date.now() + budget;
    const summary = await this.byRank(req, log, {
      deadlineMs: (s) => Math.min(s.operationTimeoutMs, until - Date.now()),
      outOfTime: 'not run: the deadline of the "*" job was reached',
      holds: true,
    });
    const result = this.toResult(req, summary, started);
    await this.opts.journal.markDone(result);
    return result;
  }

  /**
   * A container's own start-up and shutdown (agent.container_mode): START or
   * STOP of every service by startup_rank, as a "*" job does, but asked for
   * by nobody: not journaled, and holds are neither set nor released. START
   * leaves out the services `skip` names a reason for (those held by an
   * operator's STOP); each service gets `deadlineMs(service)`. Runs under the
   * "*" lock, so the watch leaves every service alone meanwhile.
   */
  lifecycleAll(
    operation: Operation.START | Operation.STOP,
    opts: { deadlineMs: (service: ProcessConfig) => number; skip?: (service: ProcessConfig) => string | null; reason: string },
  ): Promise<OperationResult> {
    const req = create(JobRequestSchema, { jobId: opts.reason, operation, service: ALL_SERVICES });
    const log = this.log.child({ service: ALL_SERVICES, reason: opts.reason });
    return this.locks.run(ALL_SERVICES, () =>
      this.byRank(req, log, { deadlineMs: opts.deadlineMs, outOfTime: 'not run: out of time', holds: false, ...(opts.skip ? { skip: opts.skip } : {}) }),
    );
  }

  /** The rank-ordered loop of a "*" operation, each service under its own lock; never throws. */
  private async byRank(
    req: JobRequest,
    log: Logger,
    opts: { deadlineMs: (s: ProcessConfig) => number; outOfTime: string; holds: boolean; skip?: (s: ProcessConfig) => string | null },
  ): Promise<OperationResult> {
    const started = Date.now();
    const ordered = rankOrder([...this.services.values()], req.operation === Operation.STOP ? 'stop' : 'start');
    log.info({ operation: Operation[req.operation], order: ordered.map((s) => s.name) }, 'job started');
    const outcomes: NonNullable<OperationResult['services']> = [];
    const steps: CommandRecord[] = [];
    let blockedBy: ProcessConfig | null = null;
    for (const service of ordered) {
      if (blockedBy) {
        outcomes.push({
          service: service.name,
          ok: false,
          message: `not started: ${blockedBy.name} (rank ${blockedBy.startupRank}) failed to start`,
          version: '',
        });
        continue;
      }
      const skipped = opts.skip?.(service);
      if (skipped) {
        log.info({ target: service.name, reason: skipped }, 'service left as it is');
        outcomes.push({ service: service.name, ok: true, message: `left alone: ${skipped}`, version: '' });
        continue;
      }
      const deadlineMs = opts.deadlineMs(service);
      if (deadlineMs <= 0) {
        outcomes.push({ service: service.name, ok: false, message: opts.outOfTime, version: '' });
        continue;
      }
      const r = await this.locks.run(service.name, () => this.operate(req, service, deadlineMs, log.child({ target: service.name }), opts.holds));
      outcomes.push({ service: service.name, ok: r.ok, message: r.message, version: r.version ?? '' });
      for (const s of r.steps) steps.push({ ...s, name: `${service.name}/${s.name}`, outputTail: s.outputTail.slice(-ALL_SERVICES_TAIL) });
      if (!r.ok && req.operation === Operation.START) blockedBy = service;
    }
    const failed = outcomes.filter((o) => !o.ok);
    const verb = Operation[req.operation]?.toLowerCase() ?? 'operation';
    const summary: OperationResult = {
      ok: failed.length === 0,
      message:
        failed.length === 0
          ? `${verb} of ${outcomes.length} service${outcomes.length === 1 ? '' : 's'} by rank: ok (${outcomes.map((o) => o.service).join(', ')})`
          : `${verb} by rank: ${failed.length} of ${outcomes.length} failed: ${failed.map((o) => `${o.service} (${o.message})`).join('; ')}`,
      strategy: 'lifecycle',
      attempts: 1,
      steps,
      services: outcomes,
    };
    log[summary.ok ? 'info' : 'warn'](
      { operation: Operation[req.operation], ok: summary.ok, durationMs: Date.now() - started, message: summary.message },
      'job finished',
    );
    return summary;
  }

  private toResult(req: JobRequest, r: OperationResult, started: number): JobResult {
    return create(JobResultSchema, {
      jobId: req.jobId,
      outcome: r.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
      service: req.service,
      operation: req.operation,
      strategy: r.strategy,
      message: r.message,
      steps: r.steps.map(toStepResult),
      startedAtMs: BigInt(started),
      durationMs: BigInt(Date.now() - started),
      attempts: r.attempts,
      version: r.version ?? '',
      services: (r.services ?? []).map((s) => ({
        service: s.service,
        outcome: s.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
        message: s.message,
        version: s.version,
      })),
    });
  }

  private refuse(req: JobRequest, outcome: Outcome, message: string): JobResult {
    return create(JobResultSchema, {
      jobId: req.jobId,
      outcome,
      service: req.service.slice(0, 255),
      operation: req.operation,
      message,
      startedAtMs: BigInt(Date.now()),
    });
  }
}
