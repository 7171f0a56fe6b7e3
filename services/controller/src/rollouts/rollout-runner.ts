import { Operation, Outcome, type JobResult, type Logger } from '@smgr/shared';
import type { JobSender, JobSpec } from '../agents/agent-jobs.js';
import { advance, applyCommand, applyResult, isActive, wantedJobs, type WantedJob } from './rollout-machine.js';
import { failedStep } from '../history/result-detail.js';
import type { RolloutStore } from './rollout-store.js';
import type { HostJobOutcome, RolloutCommand, RolloutSnapshot } from './rollout-types.js';

export type { JobSender };

export interface RolloutRunnerOptions {
  store: Pick<RolloutStore, 'save' | 'recordFailure'>;
  jobs: JobSender;
  log: Logger;
  /** Differs per controller process, so probe job ids are never answered from an agent's journal. */
  epoch: string;
  now?: () => number;
  /** Called once the rollout is final and no job of it is out any more. */
  onIdle?: (id: number) => void;
}

/** Back-off after a failed write to MySQL before the transition is tried again. */
const PERSIST_RETRY_MS = 1_000;

/**
 * Drives one rollout: feeds the state machine job results, commands and the
 * clock; writes every transition to MySQL before acting on it; sends the jobs
 * the machine asks for. All changes run one at a time on a promise chain, so
 * a result, a command and a timer never interleave.
 *
 * Job ids are derived from the rollout, the host's position and the step
 * (`ro-12-3-update`), so after a controller restart the same UPDATE is sent
 * again and the agent answers it from its journal instead of running it twice.
 */
export class RolloutRunner {
  private s: RolloutSnapshot;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<string>();
  private readonly nextProbeAt = new Map<string, number>();
  private probeSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    snapshot: RolloutSnapshot,
    private readonly opts: RolloutRunnerOptions,
  ) {
    this.s = snapshot;
    this.now = opts.now ?? Date.now;
    this.log = opts.log.child({ component: 'rollout-runner', rolloutId: snapshot.rollout.id, service: snapshot.rollout.service });
  }

  get id(): number {
    return this.s.rollout.id;
  }

  snapshot(): RolloutSnapshot {
    return this.s;
  }

  /** Starts (or resumes) driving the rollout. */
  start(): void {
    this.log.info({ state: this.s.rollout.state, version: this.s.rollout.version }, 'rollout driving');
    void this.enqueue(() => this.step());
  }

  /**
   * Applies an operator's command once everything before it is done.
   * @throws RefusedError when the state does not allow it, or the rollout would conflict with another one
   */
  command(cmd: RolloutCommand, by: string): Promise<RolloutSnapshot> {
    return this.enqueue(async () => {
      const next = applyCommand(this.s, cmd, this.now(), by);
      await this.commit(next);
      this.log.info({ command: cmd, by, state: this.s.rollout.state }, 'rollout command applied');
      this.dispatch();
      this.schedule();
      return this.s;
    });
  }

  /** Stops timers; results still out are dropped (a restarted controller sends those jobs again). Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Waits for whatever is queued now (tests and shutdown). */
  async settled(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Advances with the clock, persists, dispatches and schedules the next wake-up. */
  private async step(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.commit(advance(this.s, this.now()));
    } catch (err) {
      this.log.error({ err }, 'rollout transition not saved; retrying');
      this.retryLater();
      return;
    }
    this.dispatch();
    this.schedule();
  }

  private async commit(next: RolloutSnapshot): Promise<void> {
    await this.opts.store.save(this.s, next);
    const before = this.s;
    this.s = next;
    if (before.rollout.state !== next.rollout.state) {
      this.log.info({ from: before.rollout.state, to: next.rollout.state, reason: next.rollout.message }, 'rollout state changed');
    }
    for (const h of next.hosts) {
      const old = before.hosts.find((x) => x.hostId === h.hostId);
      if (old && old.state !== h.state) {
        this.log.info({ hostId: h.hostId, from: old.state, to: h.state, reason: h.message }, 'rollout host state changed');
      }
    }
  }

  private dispatch(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const job of wantedJobs(this.s)) {
      const key = `${job.hostId}:${job.kind}`;
      if (this.inFlight.has(key)) continue;
      if (job.kind === 'probe' && (this.nextProbeAt.get(job.hostId) ?? 0) > now) continue;
      this.inFlight.add(key);
      void this.run(job, key);
    }
    this.maybeIdle();
  }

  private async run(job: WantedJob, key: string): Promise<void> {
    const spec = this.jobSpec(job);
    const timeoutMs = this.timeoutFor(job);
    let outcome: HostJobOutcome;
    try {
      outcome = toOutcome(await this.opts.jobs.runJob(job.hostId, spec, timeoutMs));
    } catch (err) {
      if (this.stopped || (err as { code?: string }).code === 'CONTROLLER_STOPPING') return;
      outcome = { ok: false, version: '', message: (err as Error).message };
    }
    await this.enqueue(async () => {
      this.inFlight.delete(key);
      if (this.stopped) return;
      const now = this.now();
      if (job.kind === 'probe') this.nextProbeAt.set(job.hostId, now + this.s.rollout.spec.probeIntervalMs);
      try {
        await this.commit(advance(applyResult(this.s, job.hostId, job.kind, outcome, now), now));
        const h = this.s.hosts.find((x) => x.hostId === job.hostId);
        if (outcome.failure && (h?.state === 'failed' || h?.state === 'rollback_failed')) {
          // The failing step (exit code, output) is what an operator needs from `smgr rollout status`.
          await this.opts.store
            .recordFailure(this.s.rollout.id, job.hostId, job.kind, outcome.failure, h.message)
            .catch((err) => this.log.warn({ err, hostId: job.hostId }, 'rollout host failure detail not saved'));
        }
      } catch (err) {
        // Not recorded: the same job is asked for again (UPDATE/ROLLBACK keep their id, so the agent replays it).
        this.log.error({ err, hostId: job.hostId, kind: job.kind }, 'rollout result not saved; retrying');
        this.retryLater();
        return;
      }
      this.dispatch();
      this.schedule();
    });
  }

  private jobSpec(job: WantedJob): JobSpec {
    const r = this.s.rollout;
    const h = this.s.hosts.find((x) => x.hostId === job.hostId)!;
    const base = `ro-${r.id}-${h.position}`;
    switch (job.kind) {
      case 'pre_status':
        return { jobId: `${base}-status`, operation: Operation.STATUS, service: r.service };
      case 'update':
        return { jobId: `${base}-update`, operation: Operation.UPDATE, service: r.service, version: r.version };
      case 'probe':
        this.probeSeq += 1;
        return { jobId: `${base}-probe-${this.opts.epoch}-${this.probeSeq}`, operation: Operation.STATUS, service: r.service };
      case 'rollback':
        return {
          jobId: `${base}-rollback-${h.rollbackAttempts}`,
          operation: Operation.UPDATE,
          service: r.service,
          version: h.previousVersion ?? '',
        };
    }
  }

  private timeoutFor(job: WantedJob): number {
    const { spec } = this.s.rollout;
    if (job.kind !== 'probe') return spec.jobTimeoutMs;
    // A probe that cannot answer must not outlive the health gate it is for.
    const h = this.s.hosts.find((x) => x.hostId === job.hostId);
    const left = (h?.deadlineAt ?? this.now()) - this.now() + spec.probeIntervalMs;
    return Math.max(1_000, Math.min(spec.jobTimeoutMs, left));
  }

  /** Wakes up for the next probe or the end of a pause between batches. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const times: number[] = [];
    if (this.s.rollout.waitUntil !== null && this.s.rollout.state === 'running') times.push(this.s.rollout.waitUntil);
    for (const h of this.s.hosts) {
      if (h.state === 'verifying' && !this.inFlight.has(`${h.hostId}:probe`)) times.push(this.nextProbeAt.get(h.hostId) ?? 0);
    }
    if (times.length === 0) return;
    const delay = Math.max(0, Math.min(...times) - this.now());
    this.timer = setTimeout(() => void this.enqueue(() => this.step()), delay);
  }

  private retryLater(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.enqueue(() => this.step()), PERSIST_RETRY_MS);
  }

  private maybeIdle(): void {
    if (!isActive(this.s.rollout.state) && this.inFlight.size === 0 && wantedJobs(this.s).length === 0) {
      this.opts.onIdle?.(this.s.rollout.id);
    }
  }
}

function toOutcome(r: JobResult): HostJobOutcome {
  const ok = r.outcome === Outcome.SUCCEEDED;
  const name = (Outcome[r.outcome] ?? 'UNKNOWN').toLowerCase();
  return { ok, version: r.version, message: r.message || name, failure: failedStep(r) };
}
