import { createHash } from 'node:crypto';
import { QueueEvents, UnrecoverableError, Worker, type ConnectionOptions, type Job, type Queue } from 'bullmq';
import { closeQuietly, logQueueError, openQueue, runWorker } from '../db/bullmq.js';
import type { Redis } from 'ioredis';
import { fromBinary, toBinary, JobResultSchema, Operation, UnavailableError, type JobResult, type Logger } from '@smgr/shared';
import type { AgentJobs, JobSpec } from '../agents/agent-jobs.js';
import { sign, verify } from './fleet-secret.js';

/**
 * A job for a host whose stream another controller holds, put on that
 * controller's own BullMQ queue. `notAfter` (epoch ms) is when whoever asked
 * stops waiting: a delivery still queued then (its controller was down) is
 * dropped, never run late.
 */
export interface DeliveryData {
  hostId: string;
  spec: { jobId: string; operation: number; service: string; version: string; action?: string; deadlineMs: number };
  notAfter: number;
  from: string;
  /** HMAC-SHA-256 (hex) of deliveryFields() under the fleet's delivery secret (smgr_fleet_secrets). */
  sig?: string;
}

/**
 * What a delivery's signature covers, in a fixed order: everything the agent
 * is sent, the host, the deadline, the asker and the controller whose queue
 * it is for (a signed job moved to another controller's queue is refused).
 */
export function deliveryFields(target: string, d: DeliveryData): (string | number)[] {
  const s = d.spec;
  return ['smgr-delivery-v1', target, d.from, d.hostId, s.jobId, s.operation, s.service, s.version, s.action ?? '', s.deadlineMs, d.notAfter];
}

/** Codes after which the job goes to wherever the host is now (same job id: the agent dedupes). */
export const REROUTE_CODES: ReadonlySet<string> = new Set(['HOST_GONE', 'ROUTE_CHANGED', 'CONTROLLER_STOPPING', 'NOT_ACTIVE']);

/** BullMQ queue names may not hold ':'; a controller id may. */
export function deliveryQueueName(controllerId: string): string {
  const safe = controllerId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return safe === controllerId ? `smgr-deliver.${safe}` : `smgr-deliver.${safe}.${createHash('sha256').update(controllerId).digest('hex').slice(0, 8)}`;
}

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** What a delivery job must look like; anything else is refused, never sent to an agent. */
export function deliveryProblem(d: unknown): string | null {
  const x = d as Partial<DeliveryData> | null;
  if (!x || typeof x !== 'object') return 'not an object';
  if (typeof x.hostId !== 'string' || !HOST_RE.test(x.hostId)) return 'bad hostId';
  const s = x.spec;
  if (!s || typeof s !== 'object') return 'no spec';
  if (typeof s.jobId !== 'string' || !JOB_ID_RE.test(s.jobId)) return 'bad jobId';
  if (typeof s.operation !== 'number' || Operation[s.operation] === undefined || s.operation === 0) return 'bad operation';
  if (typeof s.service !== 'string' || s.service.length === 0 || s.service.length > 255) return 'bad service';
  if (typeof s.version !== 'string' || s.version.length > 64) return 'bad version';
  if (s.action !== undefined && (typeof s.action !== 'string' || s.action.length > 64)) return 'bad action';
  if (typeof s.deadlineMs !== 'number' || !Number.isFinite(s.deadlineMs) || s.deadlineMs < 0) return 'bad deadlineMs';
  if (typeof x.notAfter !== 'number' || !Number.isFinite(x.notAfter)) return 'bad notAfter';
  if (typeof x.from !== 'string' || x.from.length > 255) return 'bad from';
  return null;
}

/** An error a delivery failed with, as the asking controller reads it back: `CODE: message`. */
function failWith(code: string, message: string): UnrecoverableError {
  return new UnrecoverableError(`${code}: ${message}`);
}

export interface DeliveryWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  controllerId: string;
  jobs: AgentJobs;
  /** The fleet's delivery secret (loadFleetSecret): only jobs signed with it are sent to agents. */
  secret: Buffer;
  /** Counts deliveries refused unsent, by reason (malformed, bad_signature). */
  refused?: { inc(labels: { reason: string }): void };
  log: Logger;
  /** Deliveries in flight at once; they mostly wait on agents. Default 1000. */
  concurrency?: number;
}

/**
 * Consumes this controller's delivery queue: sends each job to its host on
 * the stream held here and returns the agent's result to the asker (as the
 * job's return value, JobResult in protobuf binary, base64). A host no
 * longer here fails the delivery with HOST_GONE and the asker routes the
 * job again. A controller killed mid-delivery leaves the job active; BullMQ
 * hands it back when this controller id runs again, by then the asker has
 * long re-routed it and the agent answers the repeated id from its journal.
 */
export class DeliveryWorker {
  private readonly worker: Worker<DeliveryData, string>;
  private readonly log: Logger;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.log = opts.log.child({ component: 'delivery-worker' });
    this.worker = new Worker<DeliveryData, string>(deliveryQueueName(opts.controllerId), (job) => this.process(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1000,
      lockDuration: 10_000,
      stalledInterval: 5_000,
      autorun: false,
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'delivery worker error'));
  }

  start(): void {
    runWorker(this.worker, logQueueError(this.log, 'debug', 'delivery worker loop ended at close'));
  }

  /** Takes no new deliveries; those in flight get `graceMs`, then their hosts' results are no longer awaited here. Idempotent. */
  stop(graceMs = 3_000): Promise<void> {
    this.closing ??= (async () => {
      const closed = closeQuietly(this.worker);
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([closed.then(() => 'ok' as const), timer])) === 'late') await closeQuietly(this.worker, true).catch(() => undefined);
    })().catch((err) => this.log.warn({ err }, 'delivery worker close failed'));
    return this.closing;
  }

  private async process(job: Job<DeliveryData, string>): Promise<string> {
    const problem = deliveryProblem(job.data);
    if (problem) {
      this.log.warn({ jobId: job.id, problem }, 'malformed delivery refused');
      this.opts.refused?.inc({ reason: 'malformed' });
      throw failWith('BAD_DELIVERY', problem);
    }
    // Anyone able to write to Redis can add a job here: only what a controller signed reaches an agent.
    if (!verify(this.opts.secret, deliveryFields(this.opts.controllerId, job.data), job.data.sig)) {
      this.log.warn({ jobId: job.id, hostId: job.data.hostId, from: job.data.from }, 'delivery with a missing or wrong signature refused; nothing sent');
      this.opts.refused?.inc({ reason: 'bad_signature' });
      throw failWith('BAD_SIGNATURE', 'the delivery is not signed with the fleet secret');
    }
    const { hostId, spec, notAfter, from } = job.data;
    const left = notAfter - Date.now();
    if (left <= 0) throw failWith('EXPIRED', `the asker stopped waiting for ${spec.jobId} before it could be sent`);
    if (!this.opts.jobs.isConnected(hostId)) throw failWith('HOST_GONE', `${hostId} is not connected to ${this.opts.controllerId}`);
    this.log.debug({ jobId: spec.jobId, hostId, from }, 'delivering a job for another controller');
    const s: JobSpec = {
      jobId: spec.jobId,
      operation: spec.operation as Operation,
      service: spec.service,
      version: spec.version,
      ...(spec.action ? { action: spec.action } : {}),
      deadlineMs: spec.deadlineMs,
    };
    try {
      const result = await this.opts.jobs.runJob(hostId, s, left, { leaveOnDisconnect: true });
      return Buffer.from(toBinary(JobResultSchema, result)).toString('base64');
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'DELIVERY_FAILED';
      throw failWith(code, (err as Error).message);
    }
  }
}

export interface DeliveryClientOptions {
  /** A fresh connection for each target's QueueEvents (they block). */
  newRedis: () => Redis;
  /** Shared by the target queues (adds only). */
  connection: Redis;
  prefix: string;
  controllerId: string;
  /** The fleet's delivery secret (loadFleetSecret): every job added is signed with it. */
  secret: Buffer;
  log: Logger;
  /** The controller holding a host's stream now (HostRoutes.ownerOf). */
  ownerOf: (hostId: string) => Promise<string | null>;
  /** How often the route is checked while a delivery is out; default 500 ms. */
  routeCheckMs?: number;
}

interface Target {
  queue: Queue<DeliveryData, string>;
  events: QueueEvents;
  conn: Redis;
  ready: Promise<unknown>;
}

/**
 * Puts jobs on the queue of the controller that holds their host's stream
 * and waits for the result (BullMQ QueueEvents). While it waits it watches
 * the host's route: when the host is routed elsewhere (its controller died
 * or let it go), the wait ends with ROUTE_CHANGED and the caller sends the
 * job where the host is now, under the same job id.
 */
export class DeliveryClient {
  private readonly targets = new Map<string, Target>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: DeliveryClientOptions) {
    this.log = opts.log.child({ component: 'delivery-client' });
  }

  /**
   * Sends `spec` to `hostId` through controller `owner`. `attempt` numbers
   * the deliveries of one job (BullMQ job id `<jobId>.d<attempt>`): a second
   * asker (a new leader re-running the same repair) joins a delivery still
   * out instead of adding another.
   */
  async deliver(owner: string, hostId: string, spec: JobSpec, notAfter: number, attempt: number): Promise<JobResult> {
    if (this.stopped) throw new UnavailableError('CONTROLLER_STOPPING', 'controller is stopping');
    const t = this.target(owner);
    await t.ready;
    const data: DeliveryData = {
      hostId,
      spec: {
        jobId: spec.jobId,
        operation: spec.operation,
        service: spec.service,
        version: spec.version ?? '',
        ...(spec.action ? { action: spec.action } : {}),
        deadlineMs: spec.deadlineMs ?? 0,
      },
      notAfter,
      from: this.opts.controllerId,
    };
    data.sig = sign(this.opts.secret, deliveryFields(owner, data));
    const job = await t.queue.add('deliver', data, {
      jobId: `${spec.jobId}.d${attempt}`,
      attempts: 1,
      removeOnComplete: { age: 600 },
      removeOnFail: { age: 3600 },
    });
    this.log.debug({ jobId: spec.jobId, hostId, owner, attempt }, 'job sent through the controller holding its host');
    let watch: NodeJS.Timeout | undefined;
    const moved = new Promise<never>((_, reject) => {
      watch = setInterval(() => {
        this.opts.ownerOf(hostId).then(
          (now) => {
            if (now !== owner) reject(new UnavailableError('ROUTE_CHANGED', `${hostId} left ${owner}${now ? ` for ${now}` : ''}`));
          },
          () => undefined,
        );
      }, this.opts.routeCheckMs ?? 500);
    });
    try {
      const ttl = Math.max(1, notAfter - Date.now());
      const encoded = await Promise.race([job.waitUntilFinished(t.events, ttl), moved]);
      return fromBinary(JobResultSchema, Buffer.from(String(encoded), 'base64'));
    } catch (err) {
      throw asDeliveryError(err, hostId, owner);
    } finally {
      clearInterval(watch);
    }
  }

  /** Closes every target queue and event stream. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.targets.values()];
    this.targets.clear();
    await Promise.allSettled(all.flatMap((t) => [closeQuietly(t.queue), closeQuietly(t.events)]));
    // QueueEvents leaves a connection it was given open.
    for (const t of all) t.conn.disconnect();
  }

  private target(owner: string): Target {
    let t = this.targets.get(owner);
    if (!t) {
      const name = deliveryQueueName(owner);
      const queue = openQueue<DeliveryData, string>(
        name,
        this.opts.connection,
        this.opts.prefix,
        logQueueError(this.log, 'debug', 'delivery queue error', { owner }),
      );
      const conn = this.opts.newRedis();
      const events = new QueueEvents(name, { connection: conn, prefix: this.opts.prefix });
      events.on('error', (err) => this.log.debug({ err: err.message, owner }, 'delivery events error'));
      // One waiter per delivery in flight: thousands at fleet scale, not a leak.
      events.setMaxListeners(0);
      queue.setMaxListeners(0);
      t = { queue, events, conn, ready: events.waitUntilReady() };
      this.targets.set(owner, t);
    }
    return t;
  }
}

/** A failed delivery's reason (`CODE: message`) back into an error with that code. */
function asDeliveryError(err: unknown, hostId: string, owner: string): Error {
  if (err instanceof UnavailableError) return err;
  const message = (err as Error).message ?? String(err);
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (m) return new UnavailableError(m[1]!, m[2]!, { context: { hostId, owner } });
  if (/timed out before finishing/.test(message))
    return new UnavailableError('JOB_TIMEOUT', `no result from ${hostId} (through ${owner}) in time`, { context: { hostId, owner } });
  return new UnavailableError('DELIVERY_FAILED', message, { context: { hostId, owner } });
}
