import type { Queue } from 'bullmq';
import type { Logger } from '@smgr/shared';
import { breakerKey, type IncidentStore, type Incident } from './incident-store.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { ControllerMetrics } from '../metrics/controller-metrics.js';
import { type CircuitBreaker, CLOSED } from './circuit-breaker.js';
import { resolvePlacement, type Placement } from './placement.js';
import { enqueueRepairs, type RepairJobData } from './repair-queue.js';
import { noteTimestamp } from '../alarms/notes.js';

export interface AlarmPollerOptions {
  store: IncidentStore;
  queue: Queue<RepairJobData>;
  registry: AgentRegistry;
  breaker: CircuitBreaker;
  intervalMs: number;
  /** How long an unplaceable alarm waits before placement is tried again. */
  retryDelayMs: number;
  log: Logger;
  metrics?: ControllerMetrics;
  now?: () => number;
}

/** How often dispatched incidents are checked against the queue (Redis may have lost them). */
const RECONCILE_EVERY_MS = 5_000;
/** Incidents claimed per UPDATE: large enough to make 1,000 alarms a handful of statements. */
const CLAIM_BATCH = 500;

/**
 * Turns `alarma=1` rows into incidents and incidents into repair jobs. One
 * tick reads only the alarmed rows (indexed) and the open incidents, so its
 * cost follows the number of alarms, not the size of the tables; the due
 * incidents' placements and breakers are read in one query each.
 */
export class AlarmPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastReconcile = 0;
  private lastErrorLog = 0;
  /** Start of the last tick whose read of the alarms succeeded: an alarm seen now was raised after it. */
  private lastReadAt: number | null = null;
  /** A wake() came while a tick ran: the next tick starts as soon as it ends. */
  private wakeWanted = false;
  /** Set from the moment a tick is due until it ends (`running` is assigned only after tick() returns its promise). */
  private ticking = false;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: AlarmPollerOptions) {
    this.log = opts.log.child({ component: 'poller' });
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.log.info({ intervalMs: this.opts.intervalMs }, 'polling for alarms');
    this.schedule(0);
  }

  /**
   * Stops polling and waits for a tick in progress, at most `waitMs`: a tick
   * stuck on an unresponsive MySQL must not hold up a step-down or SIGTERM
   * (it checks `stopped` and does nothing more once its query returns).
   * Idempotent.
   */
  async stop(waitMs = 5_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  /**
   * Polls now instead of at the next interval: an alarm smgr raised itself
   * (an agent's watch report) need not wait for the poll that would find it.
   * A tick under way is followed at once by another; never two at a time.
   */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.wakeWanted = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  /**
   * Polls start every `intervalMs` (fixed rate, so a slow tick does not
   * stretch the detection delay), but a tick that overran its interval is
   * followed by a pause of a fifth of it, never by another tick at once.
   */
  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.ticking = true;
      const started = Date.now();
      this.running = this.tick()
        .catch((err) => this.onTickError(err))
        .finally(() => {
          this.running = null;
          this.ticking = false;
          const interval = this.opts.intervalMs;
          const woken = this.wakeWanted;
          this.wakeWanted = false;
          this.schedule(woken ? 0 : Math.max(interval / 5, interval - (Date.now() - started)));
        });
    }, delay);
  }

  private onTickError(err: unknown): void {
    // MySQL or Redis being down repeats every tick; say so every 10 s, not 5 times a second.
    if (this.now() - this.lastErrorLog > 10_000) {
      this.lastErrorLog = this.now();
      this.log.error({ err }, 'poll failed; will keep trying');
    }
  }

  /** One poll. Exposed for tests and benchmarks. */
  async tick(): Promise<void> {
    const { store } = this.opts;
    const readAt = this.now();
    // Open incidents first, alarms second. The other way round, a repair
    // that resolves in between (incident closed and alarma=0 in one
    // transaction) leaves a stale alarm with no open incident, and a second
    // incident would be opened for an occurrence that was already repaired.
    let open = await store.openIncidents();
    const alarms = await store.alarmedRows();
    const openByProcess = new Set(open.map((i) => i.processId));
    const fresh = alarms.filter((a) => !openByProcess.has(a.processId));
    if (fresh.length > 0) {
      const opened = await store.openIncidentsFor(fresh);
      if (opened > 0) {
        const detectedAt = this.now();
        this.opts.metrics?.alarmsSeen.inc({ source: 'poll' }, opened);
        if (this.lastReadAt !== null) {
          for (let i = 0; i < opened; i++) this.opts.metrics?.detectionLatency.observe((detectedAt - this.lastReadAt) / 1000);
        }
        this.log.info({ count: opened, processIds: fresh.slice(0, 20).map((a) => a.processId) }, 'alarms detected');
        open = await store.openIncidents();
      }
    }
    this.lastReadAt = readAt;
    const alarmed = new Set(alarms.map((a) => a.processId));
    const now = this.now();
    const due: Incident[] = [];
    for (const inc of open) {
      if (this.stopped) return;
      if (inc.state === 'pending' && !alarmed.has(inc.processId)) {
        await store.closeCleared(inc);
        this.log.info({ processId: inc.processId, incidentId: inc.id }, 'alarm cleared outside smgr; incident closed');
      } else if (inc.state === 'pending' && (inc.nextAttemptAt === null || inc.nextAttemptAt <= now)) {
        due.push(inc);
      }
    }
    if (due.length > 0) await this.dispatchAll(due, now);
    if (now - this.lastReconcile >= RECONCILE_EVERY_MS) {
      this.lastReconcile = now;
      await this.reconcile(open.filter((i) => i.state === 'dispatched'));
    }
  }

  private async dispatchAll(due: Incident[], now: number): Promise<void> {
    const { store, registry } = this.opts;
    const ids = due.map((i) => i.processId);
    const explicit = await store.placementRowsFor(ids);
    const placed: { inc: Incident; placement: Extract<Placement, { ok: true }> }[] = [];
    for (const inc of due) {
      const placement = resolvePlacement(inc.processName, explicit.get(inc.processId) ?? [], (s) => registry.hostsManaging(s));
      if (placement.ok) placed.push({ inc, placement });
      else await this.postponeUnplaced(inc, placement, now);
    }
    if (placed.length === 0) return;
    const breakers = await store.breakerStatesFor(placed.map((p) => p.inc.processId));
    const wanted: { inc: Incident; hostId: string; service: string; jobId: string; trial: boolean; via: string }[] = [];
    for (const { inc, placement } of placed) {
      const state = breakers.get(breakerKey(inc.processId, placement.hostId)) ?? CLOSED;
      const decision = this.opts.breaker.decide(state, now);
      if (!decision.allowed) {
        const until = noteTimestamp(new Date(decision.openUntil));
        await store.postpone(inc, new Date(decision.openUntil), `circuit open until ${until} on ${placement.hostId}`, {
          kind: 'breaker_open',
          processId: inc.processId,
          incidentId: inc.id,
          hostId: placement.hostId,
          message: `circuit open until ${until}`,
        });
        continue;
      }
      const jobId = `inc-${inc.id}-a${inc.attempts + 1}`;
      wanted.push({ inc, hostId: placement.hostId, service: placement.service, jobId, trial: decision.trial, via: placement.via });
    }
    if (wanted.length === 0 || this.stopped) return;
    // Claim first, then enqueue, batch by batch: a crash in between leaves
    // dispatched incidents without jobs, which reconcile() re-adds under the same ids.
    for (let i = 0; i < wanted.length; i += CLAIM_BATCH) {
      const batch = wanted.slice(i, i + CLAIM_BATCH);
      const claimedIds = await store.markDispatchedMany(batch);
      const claimed = batch.filter((w) => claimedIds.has(w.inc.id));
      if (claimed.length === 0) continue;
      await enqueueRepairs(
        this.opts.queue,
        claimed.map((w) => ({
          jobId: w.jobId,
          data: {
            incidentId: w.inc.id,
            processId: w.inc.processId,
            processName: w.inc.processName,
            service: w.service,
            hostId: w.hostId,
            attempt: w.inc.attempts + 1,
          },
        })),
      );
      for (const w of claimed) {
        this.log.info(
          {
            processId: w.inc.processId,
            incidentId: w.inc.id,
            hostId: w.hostId,
            service: w.service,
            via: w.via,
            jobId: w.jobId,
            attempt: w.inc.attempts + 1,
            trial: w.trial,
          },
          'repair dispatched',
        );
      }
    }
  }

  private async postponeUnplaced(inc: Incident, placement: Extract<Placement, { ok: false }>, now: number): Promise<void> {
    const reason = `not repaired: ${placement.reason}`;
    // Logged and counted once per reason change, like the note; retries stay quiet.
    if (inc.lastMessage !== reason) {
      this.opts.metrics?.unplaced.inc({ code: placement.code });
      this.log.warn({ processId: inc.processId, incidentId: inc.id, code: placement.code, reason: placement.reason }, 'alarm cannot be placed on a host');
    }
    await this.opts.store.postpone(inc, new Date(now + this.opts.retryDelayMs), reason, {
      kind: 'unplaced',
      processId: inc.processId,
      incidentId: inc.id,
      outcome: placement.code,
      message: placement.reason,
    });
  }

  /** Re-adds jobs that the queue lost (Redis restarted empty) and revives failed ones. */
  private async reconcile(dispatched: Incident[]): Promise<void> {
    const lost: { jobId: string; data: RepairJobData }[] = [];
    for (let i = 0; i < dispatched.length; i += 100) {
      const chunk = dispatched.slice(i, i + 100).filter((inc) => inc.jobId && inc.hostId && inc.service);
      const states = await Promise.all(chunk.map((inc) => this.opts.queue.getJobState(inc.jobId!)));
      for (const [k, inc] of chunk.entries()) {
        const state = states[k];
        if (state === 'unknown') {
          lost.push({
            jobId: inc.jobId!,
            data: {
              incidentId: inc.id,
              processId: inc.processId,
              processName: inc.processName,
              service: inc.service!,
              hostId: inc.hostId!,
              attempt: inc.attempts,
            },
          });
        } else if (state === 'failed') {
          const job = await this.opts.queue.getJob(inc.jobId!);
          await job?.retry('failed');
          this.log.warn({ incidentId: inc.id, jobId: inc.jobId }, 'failed repair job retried');
        }
      }
    }
    if (lost.length === 0) return;
    await enqueueRepairs(this.opts.queue, lost);
    for (const l of lost) {
      this.log.warn({ incidentId: l.data.incidentId, jobId: l.jobId }, 'repair job missing from the queue; re-added');
    }
  }
}
