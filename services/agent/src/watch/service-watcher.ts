import type { Logger, ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import { ProcessNames } from '../exec/process-names.js';
import { describeRecord } from '../lifecycle/operation-context.js';

/** What one watch check found. */
export interface WatchCheck {
  ok: boolean;
  /** The record that decided it (the failing one, when it failed). */
  record: CommandRecord | undefined;
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
  onFailing: (service: ProcessConfig, failures: number, last: CommandRecord | undefined) => Promise<void>;
  /** Called when a check passes after failures. */
  onRecovered?: (service: ProcessConfig, failures: number) => void;
  log: Logger;
  /** Checks with commands run at most this many at once; default 4. */
  concurrency?: number;
  random?: () => number;
}

/**
 * Watch mode: services are checked in rounds, one round every watch_interval
 * for all services sharing that interval (the first after a random part of
 * it, so agents started together do not check together). A round takes one
 * /proc snapshot for all its name checks, which keeps an idle agent's CPU
 * near zero. Consecutive failures are counted per service, and from the
 * watch_failures-th on `onFailing` decides what to do.
 *
 * Per service:  healthy ──fail──► failing(n) ──n = watch_failures──► alarmed
 *                  ▲                 │ pass                            │ pass
 *                  └─────────────────┴─────────────────────────────────┘
 */
export class ServiceWatcher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  /** Services whose onFailing is still running: their checks wait. */
  private readonly handling = new Set<string>();
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly opts: ServiceWatcherOptions) {
    this.log = opts.log.child({ component: 'watch' });
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
  }

  /** Consecutive failed checks of a service right now. */
  failureCount(service: string): number {
    return this.failures.get(service) ?? 0;
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
    const queue = services.filter((s) => !this.handling.has(s.name));
    const workers = Array.from({ length: Math.min(this.opts.concurrency ?? 4, queue.length) }, async () => {
      for (let s = queue.shift(); s && !this.stopped; s = queue.shift()) await this.checkOne(s, round);
    });
    await Promise.all(workers);
  }

  private async checkOne(s: ProcessConfig, round: WatchRound): Promise<void> {
    try {
      const why = this.opts.skip(s);
      if (why) {
        this.log.debug({ service: s.name, why }, 'watch check skipped');
        return;
      }
      const r = await this.opts.check(s, round);
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
        exitCode: r.record?.exitCode,
        durationMs: r.record?.durationMs,
        why: r.record ? describeRecord(r.record) : undefined,
      };
      if (failures < s.watchFailures) {
        this.log.info(fields, 'watch check failed');
        return;
      }
      if (failures === s.watchFailures) this.log.warn(fields, 'watched service failing');
      // A repair can take a while; the other services' rounds go on meanwhile.
      this.handling.add(s.name);
      void this.opts
        .onFailing(s, failures, r.record)
        .catch((err) => this.log.error({ err, service: s.name }, 'watch failure handling error'))
        .finally(() => this.handling.delete(s.name));
    } catch (err) {
      this.log.error({ err, service: s.name }, 'watch check error');
    }
  }
}
