import { randomUUID } from 'node:crypto';
import { AgentEventKind, create, AgentEventSchema, Outcome, type AgentEvent, type JobResult, type Logger, type ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import { toStepResult } from '../exec/to-step-result.js';
import { describeRecord } from '../lifecycle/operation-context.js';
import type { LocalCircuitBreaker } from './local-circuit-breaker.js';
import { FailingSpells } from './failing-spells.js';
import type { WatchTrigger } from '../watch/service-watcher.js';

/** A failing spell that no one repairs is reported again this often (an alarm cleared by hand over a dead service comes back). */
export const REPORT_REPEAT_MS = 5 * 60_000;

/**
 * `watch_repair = agent`: at most this many local repairs of one service per
 * LOCAL_REPAIR_WINDOW_MS; a service dying faster than that (a crash loop whose
 * restarts all "succeed") is handed to the controller: reported, alarmed,
 * repaired under the controller's breaker and backoff.
 */
export const LOCAL_REPAIRS_PER_WINDOW = 5;
export const LOCAL_REPAIR_WINDOW_MS = 60_000;

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
  /** Default REPORT_REPEAT_MS. */
  reportRepeatMs?: number;
}

/**
 * What the agent does about a watched service that keeps failing:
 * - controller reachable (or not away long enough): report it once per
 *   failing spell (`watch_failed`; see FailingSpells for what ends a spell:
 *   a passing check or a successful repair by anyone); the controller raises
 *   the alarm and orders the repair, MySQL stays the source of truth;
 * - controller away longer than agent.autonomy_after, or the service set
 *   to `watch_repair = agent` (repaired at once, without the controller's
 *   round trip, at most LOCAL_REPAIRS_PER_WINDOW times a window): repair it
 *   here, under a local circuit breaker, and keep the result as an
 *   `autonomous_repair` event for the controller's history (it replaces a
 *   `watch_failed` for the same service that was never delivered); a failed
 *   repair's event raises the alarm there.
 */
export class WatchResponder {
  private readonly spells: FailingSpells;
  private readonly blockedLogged = new Set<string>();
  /** watch_repair = agent: when each service was last repaired here (newest last, at most LOCAL_REPAIRS_PER_WINDOW). */
  private readonly localRepairs = new Map<string, number[]>();
  private readonly throttledLogged = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: WatchResponderOptions) {
    this.log = opts.log.child({ component: 'autonomy' });
    this.now = opts.now ?? Date.now;
    this.spells = new FailingSpells(opts.reportRepeatMs ?? REPORT_REPEAT_MS);
  }

  /** True when the agent may act on its own now. */
  autonomous(): boolean {
    const since = this.opts.downSince();
    return this.opts.autonomyAfterMs > 0 && since !== null && this.now() - since >= this.opts.autonomyAfterMs;
  }

  async onFailing(service: ProcessConfig, failures: number, last: CommandRecord | undefined, trigger?: WatchTrigger): Promise<void> {
    const checked = last ? describeRecord(last) : 'no check result';
    // Says how the failure was found when an event (not a round) found it: "…; systemd reported x.service failed/failed over D-Bus".
    const why = trigger?.detail ? `${checked}; ${trigger.detail}` : checked;
    const autonomous = this.autonomous();
    const byPolicy = !autonomous && service.watchRepair === 'agent';
    if (!autonomous && !(byPolicy && this.mayRepairLocally(service.name))) {
      this.report(service, failures, last, why);
      return;
    }
    const decision = this.opts.breaker.decide(service.name);
    if (!decision.allowed) {
      if (!this.blockedLogged.has(service.name)) {
        this.blockedLogged.add(service.name);
        this.log.warn(
          { service: service.name, openUntil: new Date(decision.openUntil).toISOString() },
          'autonomous repair blocked by the local circuit breaker',
        );
      }
      this.report(service, failures, last, why);
      return;
    }
    const downForMs = this.now() - (this.opts.downSince() ?? this.now());
    if (byPolicy) this.log.info({ service: service.name, failures, trial: decision.trial }, 'repairing here (watch_repair = agent)');
    else this.log.warn({ service: service.name, failures, downForMs, trial: decision.trial }, 'controller unreachable; repairing on our own');
    const result = await this.opts.repair(service);
    const ok = result.outcome === Outcome.SUCCEEDED;
    if (ok) this.opts.breaker.onSuccess(service.name);
    else this.opts.breaker.onFailure(service.name);
    this.opts.supersede((e) => e.kind === AgentEventKind.WATCH_FAILED && e.service === service.name);
    // A success already ended the spell (the job runner reports every successful
    // repair); a failure is reported by the event below, which raises the alarm.
    if (!ok) this.spells.markReported(service.name, this.now());
    this.log[ok ? 'info' : 'warn'](
      { service: service.name, ok, jobId: result.jobId, durationMs: Number(result.durationMs), message: result.message },
      'autonomous repair finished',
    );
    this.publish(AgentEventKind.AUTONOMOUS_REPAIR, service, failures, last, {
      message: byPolicy
        ? `${ok ? 'repaired' : 'repair failed'} by the agent at once (watch_repair = agent; ${failures} failed check${failures === 1 ? '' : 's'}, ${why}): ${result.message}`
        : `${ok ? 'repaired' : 'repair failed'} on the agent's own, controller unreachable for ${Math.round(downForMs / 1000)} s: ${result.message}`,
      result,
    });
  }

  /**
   * watch_repair = agent: true, and counted, while the service has been
   * repaired here fewer than LOCAL_REPAIRS_PER_WINDOW times within the window;
   * otherwise the controller takes over (logged once per spell of throttling).
   */
  private mayRepairLocally(service: string): boolean {
    const now = this.now();
    const recent = (this.localRepairs.get(service) ?? []).filter((t) => now - t < LOCAL_REPAIR_WINDOW_MS);
    if (recent.length >= LOCAL_REPAIRS_PER_WINDOW) {
      this.localRepairs.set(service, recent);
      if (!this.throttledLogged.has(service)) {
        this.throttledLogged.add(service);
        this.log.warn(
          { service, repairs: recent.length, windowS: LOCAL_REPAIR_WINDOW_MS / 1000 },
          'repaired here too often (watch_repair = agent); reporting it to the controller instead',
        );
      }
      return false;
    }
    recent.push(now);
    this.localRepairs.set(service, recent);
    this.throttledLogged.delete(service);
    return true;
  }

  /** A watch check passed: the spell is over. */
  onRecovered(service: ProcessConfig): void {
    this.endSpell(service.name);
  }

  /**
   * The service was brought up successfully (START, RESTART or UPDATE, by the
   * controller, an operator or this agent): the spell is over, and a failure
   * after it is reported again even if no check passed in between.
   */
  endSpell(service: string): void {
    this.spells.end(service);
    this.blockedLogged.delete(service);
  }

  private report(service: ProcessConfig, failures: number, last: CommandRecord | undefined, why: string): void {
    if (!this.spells.claimReport(service.name, this.now())) return;
    this.publish(AgentEventKind.WATCH_FAILED, service, failures, last, { message: `failed ${failures} watch checks in a row (${why})` });
  }

  /** Publishes a `kind` event about `service` with a fresh id, the failure count and the last check's record. */
  private publish(
    kind: typeof AgentEventKind.WATCH_FAILED | typeof AgentEventKind.AUTONOMOUS_REPAIR,
    service: ProcessConfig,
    failures: number,
    last: CommandRecord | undefined,
    fields: { message: string; result?: JobResult },
  ): void {
    this.opts.publish(
      create(AgentEventSchema, {
        eventId: `${kind}-${randomUUID()}`,
        kind,
        service: service.name,
        atMs: BigInt(this.now()),
        ...fields,
        failures,
        ...(last ? { check: toStepResult(last) } : {}),
      }),
    );
  }
}
