import { randomUUID } from 'node:crypto';
import { create, AgentEventSchema, Outcome, type AgentEvent, type JobResult, type Logger, type ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import { toStepResult } from '../exec/to-step-result.js';
import { describeRecord } from '../lifecycle/operation-context.js';
import type { LocalCircuitBreaker } from './local-circuit-breaker.js';

/** AgentEvent kinds (see agent.proto). */
export const WATCH_FAILED = 'watch_failed';
export const AUTONOMOUS_REPAIR = 'autonomous_repair';

export interface WatchResponderOptions {
  /** 0: never repair without the controller (agent.autonomy_after). */
  autonomyAfterMs: number;
  /** When the controller link went down (epoch ms), or null while connected. */
  downSince: () => number | null;
  /** Restarts the service through the job runner (same path, lock and journal as a controller's job). */
  repair: (service: ProcessConfig) => Promise<JobResult>;
  /** Stores an event durably and sends it when possible. */
  publish: (event: AgentEvent) => void;
  /** Drops pending events that a newer one makes pointless. */
  supersede: (pred: (e: AgentEvent) => boolean) => void;
  breaker: LocalCircuitBreaker;
  log: Logger;
  now?: () => number;
}

/**
 * What the agent does about a watched service that keeps failing:
 * - controller reachable (or not away long enough): report it once per
 *   failing spell (`watch_failed`); the controller raises the alarm and
 *   orders the repair, MySQL stays the source of truth;
 * - controller away longer than agent.autonomy_after: repair it here, under
 *   a local circuit breaker, and keep the result as an `autonomous_repair`
 *   event for the controller's history (it replaces a `watch_failed` for
 *   the same service that was never delivered).
 */
export class WatchResponder {
  private readonly reported = new Set<string>();
  private readonly blockedLogged = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: WatchResponderOptions) {
    this.log = opts.log.child({ component: 'autonomy' });
    this.now = opts.now ?? Date.now;
  }

  /** True when the agent may act on its own now. */
  autonomous(): boolean {
    const since = this.opts.downSince();
    return this.opts.autonomyAfterMs > 0 && since !== null && this.now() - since >= this.opts.autonomyAfterMs;
  }

  async onFailing(service: ProcessConfig, failures: number, last: CommandRecord | undefined): Promise<void> {
    const why = last ? describeRecord(last) : 'no check result';
    if (!this.autonomous()) {
      this.report(service, failures, last, why);
      return;
    }
    const decision = this.opts.breaker.decide(service.name);
    if (!decision.allowed) {
      if (!this.blockedLogged.has(service.name)) {
        this.blockedLogged.add(service.name);
        this.log.warn({ service: service.name, openUntil: new Date(decision.openUntil).toISOString() }, 'autonomous repair blocked by the local circuit breaker');
      }
      this.report(service, failures, last, why);
      return;
    }
    const downForMs = this.now() - (this.opts.downSince() ?? this.now());
    this.log.warn({ service: service.name, failures, downForMs, trial: decision.trial }, 'controller unreachable; repairing on our own');
    const result = await this.opts.repair(service);
    const ok = result.outcome === Outcome.SUCCEEDED;
    if (ok) this.opts.breaker.onSuccess(service.name);
    else this.opts.breaker.onFailure(service.name);
    this.opts.supersede((e) => e.kind === WATCH_FAILED && e.service === service.name);
    this.reported.add(service.name);
    this.log[ok ? 'info' : 'warn'](
      { service: service.name, ok, jobId: result.jobId, durationMs: Number(result.durationMs), message: result.message },
      'autonomous repair finished',
    );
    this.opts.publish(
      create(AgentEventSchema, {
        eventId: `${AUTONOMOUS_REPAIR}-${randomUUID()}`,
        kind: AUTONOMOUS_REPAIR,
        service: service.name,
        atMs: BigInt(this.now()),
        message: `${ok ? 'repaired' : 'repair failed'} on the agent's own, controller unreachable for ${Math.round(downForMs / 1000)} s: ${result.message}`,
        result,
        failures,
        ...(last ? { check: toStepResult(last) } : {}),
      }),
    );
  }

  onRecovered(service: ProcessConfig): void {
    this.reported.delete(service.name);
    this.blockedLogged.delete(service.name);
  }

  private report(service: ProcessConfig, failures: number, last: CommandRecord | undefined, why: string): void {
    if (this.reported.has(service.name)) return;
    this.reported.add(service.name);
    this.opts.publish(
      create(AgentEventSchema, {
        eventId: `${WATCH_FAILED}-${randomUUID()}`,
        kind: WATCH_FAILED,
        service: service.name,
        atMs: BigInt(this.now()),
        message: `failed ${failures} watch checks in a row (${why})`,
        failures,
        ...(last ? { check: toStepResult(last) } : {}),
      }),
    );
  }
}
