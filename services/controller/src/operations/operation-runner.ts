import { randomBytes } from 'node:crypto';
import { NotFoundError, Operation, Outcome, type JobResult, type Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { failedStep } from '../history/result-detail.js';
import { selectHosts, type HostDirectory, type HostSelector } from '../rollouts/host-selection.js';
import type { JobSender } from '../rollouts/rollout-runner.js';
import { OperationStore, type HostOutcomeRecord } from './operation-store.js';
import type { OperationName, OperationView } from './operation-types.js';
import { insertEvents } from '../history/event-store.js';

const TO_PROTO: Record<OperationName, Operation> = {
  restart: Operation.RESTART,
  start: Operation.START,
  stop: Operation.STOP,
  status: Operation.STATUS,
  update: Operation.UPDATE,
  action: Operation.ACTION,
};

export interface OperationRequest {
  operation: OperationName;
  service: string;
  selector: HostSelector;
  version?: string;
  /** For `action`: the name of an action the hosts' own configs define. */
  action?: string;
  timeoutMs: number;
}

export interface OperationRunnerOptions {
  pool: DbPool;
  hosts: HostDirectory;
  jobs: JobSender & { isConnected(hostId: string): boolean };
  /** Written on each operation; the one whose unfinished operations it marks interrupted at start. */
  controllerId: string;
  /** Finished operations older than this many days are deleted (monitor.event_retention_days). */
  retentionDays: number;
  log: Logger;
  store?: OperationStore;
}

/**
 * Runs operations in the background: `start` selects the hosts, records the
 * operation with every host pending and returns its id at once; each host's
 * job then runs and its outcome (with the failing step's exit code and
 * output tail) is recorded as it arrives, and in smgr_events. Hosts not
 * connected are `unavailable` and sent nothing, so no stale restart happens
 * when they come back.
 */
export class OperationRunner {
  readonly store: OperationStore;
  private readonly log: Logger;
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: OperationRunnerOptions) {
    this.store = opts.store ?? new OperationStore(opts.pool);
    this.log = opts.log.child({ component: 'operations' });
  }

  /** Marks operations a previous run of this controller left unfinished as interrupted. */
  async recover(): Promise<void> {
    const n = await this.store.interrupt(this.opts.controllerId, 'the controller restarted before this host answered; see smgr events');
    if (n > 0) this.log.warn({ operations: n }, 'operations left running by a previous start marked interrupted');
  }

  /**
   * Records the operation and starts it; resolves with its view (every host
   * pending) as soon as it is stored.
   * @throws NotFoundError / RefusedError from host selection (unknown service or hosts, empty selector)
   */
  async start(req: OperationRequest, by: string): Promise<OperationView> {
    const hostIds = selectHosts(this.opts.hosts, req.service, req.selector, { requireConnected: false });
    const id = `op-${randomBytes(6).toString('hex')}`;
    const hosts = hostIds.map((hostId, i) => ({ hostId, jobId: `${id}-${i}` }));
    await this.prune();
    await this.store.create({
      id,
      operation: req.operation,
      service: req.service,
      version: req.version ?? req.action ?? null,
      controllerId: this.opts.controllerId,
      timeoutMs: req.timeoutMs,
      createdBy: by,
      hosts,
    });
    this.log.info({ operationId: id, operation: req.operation, action: req.action, service: req.service, hosts: hosts.length, by }, 'operation started');
    const done = this.runAll(id, req, hosts, by).finally(() => this.running.delete(id));
    this.running.set(id, done);
    const view = await this.store.load(id);
    if (!view) throw new NotFoundError(`operation ${id} vanished right after it was stored`);
    return view;
  }

  /** The operation's progress; null when unknown (or pruned). */
  get(id: string): Promise<OperationView | null> {
    return this.store.load(id);
  }

  /**
   * Stops starting work; operations still waiting for hosts are marked
   * interrupted (their late answers are not recorded). Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    await this.store
      .interrupt(this.opts.controllerId, 'the controller stopped before this host answered', ids)
      .catch((err) => this.log.error({ err, operations: ids }, 'operations not marked interrupted'));
  }

  private async runAll(id: string, req: OperationRequest, hosts: { hostId: string; jobId: string }[], by: string): Promise<void> {
    const log = this.log.child({ operationId: id });
    const outcomes = await Promise.all(hosts.map((h) => this.runHost(id, req, h, by, log)));
    if (this.stopped) return;
    const ok = outcomes.every((o) => o === 'succeeded');
    await this.store.finish(id, ok ? 'succeeded' : 'failed').catch((err) => log.error({ err }, 'operation end not recorded'));
    const summary: Record<string, number> = {};
    for (const o of outcomes) summary[o] = (summary[o] ?? 0) + 1;
    log.info({ operation: req.operation, service: req.service, ...summary }, 'operation finished');
  }

  private async runHost(id: string, req: OperationRequest, h: { hostId: string; jobId: string }, by: string, log: Logger): Promise<HostOutcomeRecord['state']> {
    const started = Date.now();
    let record: HostOutcomeRecord;
    if (!this.opts.jobs.isConnected(h.hostId)) {
      record = { state: 'unavailable', message: 'host not connected; nothing sent', version: '', strategy: '', durationMs: 0, failure: null };
    } else {
      await this.store.hostStarted(id, h.hostId).catch((err) => log.warn({ err, hostId: h.hostId }, 'host start not recorded'));
      try {
        const r = await this.opts.jobs.runJob(
          h.hostId,
          {
            jobId: h.jobId,
            operation: TO_PROTO[req.operation],
            service: req.service,
            ...(req.version ? { version: req.version } : {}),
            ...(req.action ? { action: req.action } : {}),
          },
          req.timeoutMs,
        );
        record = fromResult(r);
      } catch (err) {
        record = { state: 'unavailable', message: (err as Error).message, version: '', strategy: '', durationMs: Date.now() - started, failure: null };
      }
    }
    if (this.stopped) return record.state;
    try {
      await this.store.hostFinished(id, h.hostId, record);
      await recordEvent(this.opts.pool, req, h, record, by);
    } catch (err) {
      log.error({ err, hostId: h.hostId, state: record.state }, 'host outcome not recorded');
    }
    return record.state;
  }

  private async prune(): Promise<void> {
    const before = new Date(Date.now() - this.opts.retentionDays * 86_400_000);
    const n = await this.store.prune(before).catch((err) => {
      this.log.warn({ err }, 'old operations not pruned');
      return 0;
    });
    if (n > 0) this.log.info({ operations: n, before: before.toISOString() }, 'old operations deleted');
  }
}

function fromResult(r: JobResult): HostOutcomeRecord {
  const state = r.outcome === Outcome.SUCCEEDED ? 'succeeded' : r.outcome === Outcome.REFUSED ? 'refused' : 'failed';
  return { state, message: r.message, version: r.version, strategy: r.strategy, durationMs: Number(r.durationMs), failure: failedStep(r) };
}

async function recordEvent(pool: DbPool, req: OperationRequest, h: { hostId: string; jobId: string }, r: HostOutcomeRecord, by: string): Promise<void> {
  await insertEvents(pool, new Date(), [
    {
      kind: 'operation',
      hostId: h.hostId,
      service: req.service,
      jobId: h.jobId,
      outcome: r.state,
      strategy: r.strategy.slice(0, 32),
      durationMs: Math.round(r.durationMs),
      message: `${req.operation}${req.version ? ` ${req.version}` : ''}${req.action ? ` ${req.action}` : ''} by ${by}: ${r.message}`.slice(0, 1024),
      detail: {
        operation: req.operation,
        version: req.version ?? null,
        ...(req.action ? { action: req.action } : {}),
        by,
        ...(r.failure ? { failure: r.failure } : {}),
      },
    },
  ]);
}
