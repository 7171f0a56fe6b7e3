import type { Logger, ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import { ProcessNames } from '../exec/process-names.js';
import { sharedProcessNames } from '../exec/process-table.js';
import { describeRecord } from '../lifecycle/operation-context.js';

/** What one watch check found. */
export interface WatchCheck {
  ok: boolean;
  /** The record that decided it (the failing one, when it failed). */
  record: CommandRecord | undefined;
}

/**
 * What made the agent check a service out of its round: a process it started
 * exited (`exit`), or systemd said over D-Bus that the unit went down
 * (`dbus`). Rounds at watch_interval are `poll`.
 */
export interface WatchTrigger {
  source: 'exit' | 'dbus';
  /** One line for the log and the report, e.g. `systemd reported nginx.service failed/failed`. */
  detail?: string;
  /**
   * The event proves the service is down (systemd reports its unit failed or
   * inactive): a failing check is reported at once, without waiting for
   * watch_failures failed checks in a row.
   */
  conclusive?: boolean;
}

/** Shared by the checks of one round: one /proc snapshot for every `pgrep -x` check in it. */
export interface WatchRound {
  names(): ProcessNames;
}

export interface ServiceWatcherOptions {
  /** The services with watch = true. */
  services: readonly ProcessConfig[];
  check: (service: ProcessConfig, round: WatchRound) => Promise<WatchCheck>;
  /** A reason to leave the service alone this round (an operation runs, it was stopped on purpose), or null. */
  skip: (service: ProcessConfig) => string | null;
  /**
   * Called on every failed check from the watch_failures-th in a row on
   * (`failures` counts them); the service's next check waits for it.
   */
  onFailing: (service: ProcessConfig, failures: number, last: CommandRecord | undefined, trigger?: WatchTrigger) => Promise<void>;
  /** Called when a check passes after failures. */
  onRecovered?: (service: ProcessConfig, failures: number) => void;
  /** Called after each round with its services and its shared /proc name snapshot (usage sampling). */
  afterRound?: (services: readonly ProcessConfig[], names: () => ProcessNames) => void;
  log: Logger;
  /**
   * True when the check is known to pass without running it: a process the
   * agent started runs under the service's name and its exit (an event the
   * agent gets as its parent) has not come. Such a service is checked for
   * real only every `verifyKnownUpMs`.
   */
  knownUp?: (service: ProcessConfig) => boolean;
  /** Default VERIFY_KNOWN_UP_MS. */
  verifyKnownUpMs?: number;
  /** Checks with commands run at most this many at once; default 4. */
  concurrency?: number;
  random?: () => number;
}

/**
 * A service known to be up from exit events (ServiceWatcherOptions.knownUp)
 * is still checked for real this often: a process can change its name, and
 * a check command may test more than the name.
 */
export const VERIFY_KNOWN_UP_MS = 60_000;

/**
 * Watch mode: services are checked in rounds, one round every watch_interval
 * for all services sharing that interval (the first after a random part of
 * it, so agents started together do not check together). A round takes one
 * /proc snapshot for all its name checks, which keeps an idle agent's CPU
 * near zero. Consecutive failures are counted per service, and from the
 * watch_failures-th on `onFailing` decides what to do.
 *
 * Per service:  healthy ──fail──► failing(n) ──n = watch_failures──► alarmed
 *                  ▲                 │ pass, or endSpell               │ pass, or endSpell
 *                  └─────────────────┴─────────────────────────────────┘
 *
 * endSpell is a successful operation that brought the service up (a repair
 * by anyone): without it, a service that fails again right after its repair
 * would keep counting from the old spell and never be reported again. A
 * check that was running while an operation started or ended says nothing
 * about the service as it is now and is dropped (see `epochs`).
 */
export class ServiceWatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  /**
   * Bumped whenever an operation on the service starts or ends: a check
   * result from an older epoch is stale (it may have seen the service down
   * just before its repair) and is dropped.
   */
  private readonly epochs = new Map<string, number>();
  /** Services whose onFailing is still running: their checks wait. */
  private readonly handling = new Set<string>();
  private stopped = false;
  private readonly log: Logger;
  private readonly watched: ReadonlyMap<string, ProcessConfig>;
  /** Services with a check under way (a round's or checkNow's): never two at once. */
  private readonly checking = new Set<string>();
  /** A conclusive trigger that came while the service was being checked: checked again right after. */
  private readonly pending = new Map<string, WatchTrigger>();
  /** checkNow requests of this turn of the event loop (with their triggers): checked together, from one view of the process table. */
  private readonly urgent = new Map<string, WatchTrigger | undefined>();
  private urgentTimer: NodeJS.Immediate | null = null;
  /** When each service was last checked for real (not answered by knownUp). */
  private readonly lastRealCheck = new Map<string, number>();

  constructor(private readonly opts: ServiceWatcherOptions) {
    this.log = opts.log.child({ component: 'watch' });
    this.watched = new Map(opts.services.map((s) => [s.name, s]));
  }

  start(): void {
    const random = this.opts.random ?? Math.random;
    const byInterval = new Map<number, ProcessConfig[]>();
    for (const s of this.opts.services) {
      const group = byInterval.get(s.watchIntervalMs);
      if (group) group.push(s);
      else byInterval.set(s.watchIntervalMs, [s]);
    }
    for (const [interval, services] of byInterval) this.schedule(services, interval, Math.floor(random() * interval));
    if (this.opts.services.length > 0) {
      this.log.info({ services: this.opts.services.map((s) => s.name), rounds: [...byInterval.keys()] }, 'watching services');
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.urgentTimer) clearImmediate(this.urgentTimer);
    this.urgentTimer = null;
    this.urgent.clear();
  }

  /** Consecutive failed checks of a service right now. */
  failureCount(service: string): number {
    return this.failures.get(service) ?? 0;
  }

  /**
   * Checks one watched service now, out of its round: the agent saw a process
   * it started exit, or systemd reported its unit down. Does nothing for an
   * unwatched service or one whose failure is being handled; for one being
   * checked at this moment, a conclusive trigger is kept and checked right
   * after (that check may have started before the unit went down), any
   * other is dropped (that check, or the next round, will see it). Every
   * request of one turn of the event loop (twenty processes killed at once)
   * is checked together from one view of the process table, the epochs read
   * then.
   */
  checkNow(service: string, trigger?: WatchTrigger): void {
    if (!this.watched.has(service) || this.stopped) return;
    const prev = this.urgent.get(service);
    this.urgent.set(service, prev?.conclusive ? prev : (trigger ?? prev));
    this.urgentTimer ??= setImmediate(() => {
      this.urgentTimer = null;
      const batch = [...this.urgent];
      this.urgent.clear();
      let names: ProcessNames | undefined;
      const round: WatchRound = { names: () => (names ??= sharedProcessNames()) };
      for (const [name, t] of batch) {
        const s = this.watched.get(name)!;
        if (this.handling.has(name)) continue;
        if (this.checking.has(name)) {
          if (t?.conclusive) this.pending.set(name, t);
          continue;
        }
        void this.checkOne(s, round, this.epochs.get(name) ?? 0, t, true);
      }
    });
  }

  /** An operation on the service started or ended: checks under way are stale. */
  invalidate(service: string): void {
    this.epochs.set(service, (this.epochs.get(service) ?? 0) + 1);
  }

  /** The service was brought up by an operation: the failure count starts again from zero. */
  endSpell(service: string): void {
    this.invalidate(service);
    const before = this.failures.get(service) ?? 0;
    if (before === 0) return;
    this.failures.delete(service);
    this.log.info({ service, failedChecks: before }, 'failing spell ended by a successful operation');
  }

  private schedule(services: ProcessConfig[], interval: number, delay: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.round(services).finally(() => this.schedule(services, interval, interval));
    }, delay);
    // Checks never keep the process alive on their own: the controller link does.
    t.unref();
    this.timers.add(t);
  }

  private async round(services: ProcessConfig[]): Promise<void> {
    let names: ProcessNames | undefined;
    const round: WatchRound = { names: () => (names ??= ProcessNames.capture()) };
    // Read before the round's shared /proc snapshot is taken: an operation that
    // ends after it makes the snapshot (and any check of this round) stale.
    const epochs = new Map(services.map((s) => [s.name, this.epochs.get(s.name) ?? 0]));
    const queue = services.filter((s) => !this.handling.has(s.name));
    const workers = Array.from({ length: Math.min(this.opts.concurrency ?? 4, queue.length) }, async () => {
      for (let s = queue.shift(); s && !this.stopped; s = queue.shift()) await this.checkOne(s, round, epochs.get(s.name)!);
    });
    await Promise.all(workers);
    if (!this.stopped) this.opts.afterRound?.(services, round.names);
  }

  /** `real`: run the check even when knownUp says it would pass (the agent just saw a process exit, or systemd reported the unit). */
  private async checkOne(s: ProcessConfig, round: WatchRound, epoch: number, trigger?: WatchTrigger, real = false): Promise<void> {
    if (this.checking.has(s.name)) return;
    this.checking.add(s.name);
    try {
      const why = this.opts.skip(s);
      if (why) {
        this.log.debug({ service: s.name, why, detectedBy: trigger?.source ?? 'poll' }, 'watch check skipped');
        return;
      }
      if (trigger) this.log.info({ service: s.name, detectedBy: trigger.source, detail: trigger.detail }, 'watch check triggered by an event');
      const now = Date.now();
      const known =
        !real && this.opts.knownUp?.(s) === true && now - (this.lastRealCheck.get(s.name) ?? -Infinity) < (this.opts.verifyKnownUpMs ?? VERIFY_KNOWN_UP_MS);
      if (!known) this.lastRealCheck.set(s.name, now);
      const r: WatchCheck = known ? { ok: true, record: undefined } : await this.opts.check(s, round);
      if ((this.epochs.get(s.name) ?? 0) !== epoch) {
        this.log.debug({ service: s.name, ok: r.ok }, 'watch check result dropped: an operation ran meanwhile');
        return;
      }
      const before = this.failures.get(s.name) ?? 0;
      if (r.ok) {
        if (before > 0) {
          this.failures.delete(s.name);
          this.opts.onRecovered?.(s, before);
          this.log.info({ service: s.name, failedChecks: before }, before >= s.watchFailures ? 'watched service recovered' : 'watch check passed again');
        }
        return;
      }
      const failures = before + 1;
      this.failures.set(s.name, failures);
      const fields = {
        service: s.name,
        failures,
        threshold: s.watchFailures,
        detectedBy: trigger?.source ?? 'poll',
        ...(trigger?.detail ? { detail: trigger.detail } : {}),
        exitCode: r.record?.exitCode,
        durationMs: r.record?.durationMs,
        why: r.record ? describeRecord(r.record) : undefined,
      };
      if (failures < s.watchFailures && !trigger?.conclusive) {
        this.log.info(fields, 'watch check failed');
        return;
      }
      if (failures === s.watchFailures || (trigger?.conclusive && failures < s.watchFailures)) this.log.warn(fields, 'watched service failing');
      // A repair can take a while; the other services' rounds go on meanwhile.
      this.handling.add(s.name);
      void this.opts
        .onFailing(s, failures, r.record, trigger)
        .catch((err) => this.log.error({ err, service: s.name }, 'watch failure handling error'))
        .finally(() => this.handling.delete(s.name));
    } catch (err) {
      this.log.error({ err, service: s.name }, 'watch check error');
    } finally {
      this.checking.delete(s.name);
      const next = this.pending.get(s.name);
      if (next) {
        this.pending.delete(s.name);
        this.checkNow(s.name, next);
      }
    }
  }
}
