import {
  create,
  JobResultSchema,
  Operation,
  Outcome,
  type JobRequest,
  type JobResult,
  type Logger,
  type ProcessConfig,
} from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import type { RestartStrategy, StrategyContext } from '../strategies/restart-strategy.js';
import { JobJournal } from './job-journal.js';
import { restartService, type OperationResult } from './restart-operation.js';

export interface JobRunnerOptions {
  services: readonly ProcessConfig[];
  strategies: (service: ProcessConfig) => RestartStrategy;
  journal: JobJournal;
  stateDir: string;
  tailBytes: number;
  log: Logger;
}

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Runs the controller's jobs on this host. Only services in the local config
 * and known operations are run; anything else is refused, never executed.
 * A job id is run at most once (JobJournal), and jobs for one service run one
 * after another.
 */
export class JobRunner {
  private readonly services = new Map<string, ProcessConfig>();
  private readonly running = new Map<string, Promise<JobResult>>();
  private readonly serviceTail = new Map<string, Promise<unknown>>();
  private readonly log: Logger;

  constructor(private readonly opts: JobRunnerOptions) {
    for (const s of opts.services) this.services.set(s.name, s);
    this.log = opts.log.child({ component: 'job-runner' });
  }

  activeJobIds(): string[] {
    return [...this.running.keys()];
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
      return Promise.resolve(
        this.refuse(req, Outcome.FAILED, 'the agent restarted while this job ran; its outcome is unknown and it is not run twice'),
      );
    }
    const problem = this.validate(req);
    if (problem) {
      this.log.warn({ jobId: req.jobId, service: req.service, operation: req.operation, reason: problem }, 'job refused');
      return Promise.resolve(this.refuse(req, Outcome.REFUSED, problem));
    }
    const service = this.services.get(req.service)!;
    // One operation at a time per service: chain behind whatever runs now.
    const previous = this.serviceTail.get(service.name) ?? Promise.resolve();
    const p = previous.then(() => this.execute(req, service));
    const tail = p.catch(() => undefined);
    this.serviceTail.set(service.name, tail);
    this.running.set(req.jobId, p);
    void p.finally(() => {
      this.running.delete(req.jobId);
      if (this.serviceTail.get(service.name) === tail) this.serviceTail.delete(service.name);
    });
    return p;
  }

  private validate(req: JobRequest): string | null {
    if (!JOB_ID_RE.test(req.jobId)) return 'malformed job id';
    if (!this.services.has(req.service)) {
      return `unknown service ${JSON.stringify(req.service.slice(0, 60))}: not in this agent's config`;
    }
    if (req.operation !== Operation.RESTART) {
      return `operation ${Operation[req.operation] ?? req.operation} is not supported by this agent`;
    }
    return null;
  }

  private async execute(req: JobRequest, service: ProcessConfig): Promise<JobResult> {
    const started = Date.now();
    this.opts.journal.markStarted(req.jobId);
    const log = this.log.child({ jobId: req.jobId, service: service.name });
    log.info({ operation: Operation[req.operation] }, 'job started');
    const ctx: StrategyContext = {
      service,
      tailBytes: this.opts.tailBytes,
      stateDir: this.opts.stateDir,
      env: buildEnv(service, req.version),
    };
    let r: OperationResult;
    try {
      r = await restartService(this.opts.strategies(service), ctx);
    } catch (err) {
      r = { ok: false, message: `agent error: ${(err as Error).message}`, strategy: '', attempts: 0, steps: [] };
    }
    for (const s of r.steps) {
      log.info({ step: s.name, argv: s.argv, exitCode: s.exitCode, signal: s.signal || undefined, timedOut: s.timedOut, durationMs: s.durationMs, ok: s.ok }, 'step finished');
    }
    const result = create(JobResultSchema, {
      jobId: req.jobId,
      outcome: r.ok ? Outcome.SUCCEEDED : Outcome.FAILED,
      service: service.name,
      operation: req.operation,
      strategy: r.strategy,
      message: r.message,
      steps: r.steps.map(toStep),
      startedAtMs: BigInt(started),
      durationMs: BigInt(Date.now() - started),
      attempts: r.attempts,
      version: req.version,
    });
    this.opts.journal.markDone(result);
    log[r.ok ? 'info' : 'warn']({ ok: r.ok, strategy: r.strategy, attempts: r.attempts, durationMs: Date.now() - started, message: r.message }, 'job finished');
    return result;
  }

  private refuse(req: JobRequest, outcome: Outcome, message: string): JobResult {
    return create(JobResultSchema, {
      jobId: req.jobId,
      outcome,
      service: req.service,
      operation: req.operation,
      message,
      startedAtMs: BigInt(Date.now()),
    });
  }
}

function toStep(s: CommandRecord) {
  return {
    name: s.name,
    argv: s.argv,
    exitCode: s.exitCode,
    signal: s.signal,
    durationMs: BigInt(s.durationMs),
    timedOut: s.timedOut,
    outputTail: s.outputTail,
    ok: s.ok,
    startedAtMs: BigInt(s.startedAtMs),
    error: s.error,
  };
}

/** Hooks see the agent's environment plus SMGR_SERVICE, SMGR_VERSION and the service's env list. */
export function buildEnv(service: ProcessConfig, version: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const kv of service.env) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.SMGR_SERVICE = service.name;
  if (version) env.SMGR_VERSION = version;
  return env;
}
