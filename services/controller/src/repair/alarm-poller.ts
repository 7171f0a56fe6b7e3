import type { Queue } from 'bullmq';
import type { Logger } from '@smgr/shared';
import type { IncidentStore, Incident } from '../db/incident-store.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { resolvePlacement } from './placement.js';
import { enqueueRepair, type RepairJobData } from './repair-queue.js';
import { noteTimestamp } from './notes.js';

export interface AlarmPollerOptions {
  store: IncidentStore;
  queue: Queue<RepairJobData>;
  registry: AgentRegistry;
  breaker: CircuitBreaker;
  intervalMs: number;
  /** How long an unplaceable alarm waits before placement is tried again. */
  retryDelayMs: number;
  log: Logger;
  now?: () => number;
}

/** How often dispatched incidents are checked against the queue (Redis may have lost them). */
const RECONCILE_EVERY_MS = 5_000;

/**
 * Turns `alarma=1` rows into incidents and incidents into repair jobs. One
 * tick reads only the alarmed rows (indexed) and the open incidents, so its
 * cost follows the number of alarms, not the size of the tables.
 */
export class AlarmPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastReconcile = 0;
  private lastErrorLog = 0;
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

  /** Stops polling and waits for a tick in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err) => this.onTickError(err))
        .finally(() => {
          this.running = null;
          this.schedule(this.opts.intervalMs);
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
    const alarms = await store.alarmedRows();
    let open = await store.openIncidents();
    const openByProcess = new Set(open.map((i) => i.processId));
    const fresh = alarms.filter((a) => !openByProcess.has(a.processId));
    if (fresh.length > 0) {
      const opened = await store.openIncidentsFor(fresh);
      if (opened > 0) {
        this.log.info({ count: opened, processIds: fresh.slice(0, 20).map((a) => a.processId) }, 'alarms detected');
        open = await store.openIncidents();
      }
    }
    const alarmed = new Set(alarms.map((a) => a.processId));
    const now = this.now();
    for (const inc of open) {
      if (this.stopped) return;
      if (inc.state === 'pending' && !alarmed.has(inc.processId)) {
        await store.closeCleared(inc);
        this.log.info({ processId: inc.processId, incidentId: inc.id }, 'alarm cleared outside smgr; incident closed');
      } else if (inc.state === 'pending' && (inc.nextAttemptAt === null || inc.nextAttemptAt <= now)) {
        await this.dispatch(inc, now);
      }
    }
    if (now - this.lastReconcile >= RECONCILE_EVERY_MS) {
      this.lastReconcile = now;
      await this.reconcile(open.filter((i) => i.state === 'dispatched'));
    }
  }

  private async dispatch(inc: Incident, now: number): Promise<void> {
    const { store, registry } = this.opts;
    const placement = resolvePlacement(inc.processName, await store.placementRows(inc.processId), (s) =>
      registry.hostsManaging(s),
    );
    const log = this.log.child({ processId: inc.processId, incidentId: inc.id });
    if (!placement.ok) {
      log.warn({ code: placement.code, reason: placement.reason }, 'alarm cannot be placed on a host');
      await store.postpone(inc, new Date(now + this.opts.retryDelayMs), `not repaired: ${placement.reason}`, {
        kind: 'unplaced',
        processId: inc.processId,
        incidentId: inc.id,
        outcome: placement.code,
        message: placement.reason,
      });
      return;
    }
    const breaker = this.opts.breaker.decide(await store.breakerState(inc.processId, placement.hostId), now);
    if (!breaker.allowed) {
      const until = noteTimestamp(new Date(breaker.openUntil));
      await store.postpone(inc, new Date(breaker.openUntil), `circuit open until ${until} on ${placement.hostId}`, {
        kind: 'breaker_open',
        processId: inc.processId,
        incidentId: inc.id,
        hostId: placement.hostId,
        message: `circuit open until ${until}`,
      });
      return;
    }
    const attempt = inc.attempts + 1;
    const jobId = `inc-${inc.id}-a${attempt}`;
    // Claim first, then enqueue: a crash in between leaves a dispatched
    // incident without a job, which reconcile() re-adds under the same id.
    if (!(await store.markDispatched(inc, placement.hostId, placement.service, jobId))) return;
    await enqueueRepair(this.opts.queue, jobId, {
      incidentId: inc.id,
      processId: inc.processId,
      processName: inc.processName,
      service: placement.service,
      hostId: placement.hostId,
      attempt,
    });
    log.info(
      { hostId: placement.hostId, service: placement.service, via: placement.via, jobId, attempt, trial: breaker.trial },
      'repair dispatched',
    );
  }

  /** Re-adds jobs that the queue lost (Redis restarted empty) and revives failed ones. */
  private async reconcile(dispatched: Incident[]): Promise<void> {
    for (const inc of dispatched) {
      if (!inc.jobId || !inc.hostId || !inc.service) continue;
      const state = await this.opts.queue.getJobState(inc.jobId);
      if (state === 'unknown') {
        await enqueueRepair(this.opts.queue, inc.jobId, {
          incidentId: inc.id,
          processId: inc.processId,
          processName: inc.processName,
          service: inc.service,
          hostId: inc.hostId,
          attempt: inc.attempts,
        });
        this.log.warn({ incidentId: inc.id, jobId: inc.jobId }, 'repair job missing from the queue; re-added');
      } else if (state === 'failed') {
        const job = await this.opts.queue.getJob(inc.jobId);
        await job?.retry('failed');
        this.log.warn({ incidentId: inc.id, jobId: inc.jobId }, 'failed repair job retried');
      }
    }
  }
}
