import type { RowDataPacket } from 'mysql2/promise';
import type { Queue, ConnectionOptions } from 'bullmq';
import type { Registry } from 'prom-client';
import { NotFoundError, type FiringAlertView, type Logger, type NotifyTestView, type ReceiverConfig, type SmgrConfig } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { AlertStore } from './alert-store.js';
import type { AlertRow, NotificationMessage } from './alert-types.js';
import { classifyEvent, type EventRowView } from './classify-event.js';
import { agentCertSignals, agentDownSignals, certExpirySignals } from './condition-checks.js';
import { closeQuietly, logQueueError } from '../db/bullmq.js';
import { createNotifyQueue, deadLetters, DeliveryWorker, enqueueMessages, type DeadLetter, type DeliveryJobData } from './delivery-queue.js';
import { alertFields, planDispatch } from './dispatch-plan.js';
import { NotifyMetrics } from './notify-metrics.js';
import { DeliveryError, type ReceiverSender } from './receiver-sender.js';
import { SlackSender, WebhookSender } from './webhook-sender.js';

export interface NotifierOptions {
  config: SmgrConfig;
  pool: DbPool;
  /** Connection of the delivery queue (shared). */
  queueConnection: ConnectionOptions;
  /** A new connection for the worker's blocking reads. */
  workerConnection: () => ConnectionOptions;
  registry: Registry;
  log: Logger;
}

const EVENTS_SOURCE = 'smgr_events';
const TAIL_BATCH = 2_000;
const CERT_EVERY_MS = 60_000;
const PRUNE_AFTER_MS = 7 * 86_400_000;

/**
 * Notifications on the controller. Started only on the active controller:
 * every `notify.check_interval` it reads new smgr_events rows (from a cursor
 * kept in MySQL) and turns them into alert signals (classify-event.ts), checks
 * for agents gone longer than `notify.agent_down_after` and for certificates
 * near expiry, stores the alerts (deduplicated by key), and hands due groups
 * to a BullMQ queue whose worker delivers them with retries.
 *
 *   stopped ──activate()──► active ──deactivate()──► stopped
 */
export class Notifier {
  readonly store: AlertStore;
  readonly metrics: NotifyMetrics;
  private readonly queue: Queue<DeliveryJobData>;
  private readonly senders = new Map<string, ReceiverSender>();
  private readonly log: Logger;
  private worker: DeliveryWorker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastCertCheck = 0;
  /** cert_expiry keys still wrong, of the controller's own files and of agents' client certificates: each check keeps the other's. */
  private controllerCertKeys: string[] | null = null;
  private agentCertKeys: string[] = [];
  private activeSince = 0;

  constructor(private readonly opts: NotifierOptions) {
    this.log = opts.log.child({ component: 'notify' });
    this.store = new AlertStore(opts.pool);
    this.queue = createNotifyQueue(opts.queueConnection, opts.config.redis.prefix, logQueueError(this.log, 'warn', 'notify queue connection error'));
    for (const r of opts.config.receivers) this.senders.set(r.name, createSender(r));
    this.metrics = new NotifyMetrics(opts.registry, {
      firing: async () => {
        const [rows] = await opts.pool.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM smgr_notify_alerts WHERE state = 'firing'");
        return Number(rows[0]?.n ?? 0);
      },
      queue: () => this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'),
    });
  }

  /** Routes configured: without any, nothing is tailed or sent (`smgr notify test` still works). */
  get enabled(): boolean {
    return this.opts.config.routes.length > 0;
  }

  activate(): void {
    if (this.timer || !this.enabled) return;
    this.activeSince = Date.now();
    this.worker = new DeliveryWorker({
      connection: this.opts.workerConnection(),
      prefix: this.opts.config.redis.prefix,
      senders: this.senders,
      metrics: this.metrics,
      log: this.opts.log,
    });
    this.worker.start();
    const every = this.opts.config.notify.checkIntervalMs;
    const loop = () => {
      this.running = this.tick()
        .catch((err) => this.log.warn({ err: (err as Error).message }, 'notification check failed; retrying'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(loop, every);
        });
    };
    this.timer = setTimeout(loop, 0);
    this.log.info({ routes: this.opts.config.routes.length, receivers: this.senders.size }, 'notifications started');
  }

  async deactivate(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.worker?.stop();
    this.worker = null;
  }

  /** Idempotent: stops everything and closes the queue and SMTP pools. */
  async close(): Promise<void> {
    await this.deactivate();
    await closeQuietly(this.queue);
    for (const s of this.senders.values()) s.close?.();
  }

  /** One pass: sources, then dispatch. Exposed for tests. */
  async tick(now = Date.now()): Promise<void> {
    await this.tailEvents();
    const labels = await this.checkAgents(now);
    if (now - this.lastCertCheck >= CERT_EVERY_MS) {
      this.lastCertCheck = now;
      await this.checkCertificates(now);
    }
    await this.dispatch(now, labels);
    if (Math.random() < 0.01) await this.store.prune(new Date(now - PRUNE_AFTER_MS));
  }

  private async tailEvents(): Promise<void> {
    let cursor = await this.store.cursor(EVENTS_SOURCE);
    if (cursor === undefined) {
      // First start: the history before now is not news.
      const [rows] = await this.opts.pool.query<RowDataPacket[]>('SELECT COALESCE(MAX(id), 0) AS id FROM smgr_events');
      cursor = Number(rows[0]?.id ?? 0);
      await this.store.setCursor(EVENTS_SOURCE, cursor);
    }
    for (;;) {
      const [rows]: [RowDataPacket[], unknown] = await this.opts.pool.query<RowDataPacket[]>(
        'SELECT id, at, kind, process_id, host_id, service, outcome, message, detail FROM smgr_events WHERE id > ? ORDER BY id LIMIT ?',
        [cursor, TAIL_BATCH],
      );
      if (rows.length === 0) return;
      const signals = rows.flatMap((r) => classifyEvent(toEventView(r)));
      if (signals.length > 0) await this.store.apply(signals);
      cursor = Number(rows[rows.length - 1]!.id);
      await this.store.setCursor(EVENTS_SOURCE, cursor);
      if (rows.length < TAIL_BATCH) return;
    }
  }

  /** agent_disconnected; returns the host labels for routing. */
  private async checkAgents(now: number): Promise<Map<string, Record<string, string>>> {
    const [rows] = await this.opts.pool.query<RowDataPacket[]>('SELECT host_id, labels, connected, last_seen, cert_not_after FROM smgr_agents');
    const labels = new Map<string, Record<string, string>>();
    for (const r of rows) labels.set(r.host_id as string, parseStoredLabels(r.labels as string));
    const { signals, keys } = agentDownSignals(
      rows.map((r) => ({ hostId: r.host_id as string, connected: Number(r.connected) === 1, lastSeen: (r.last_seen as Date | null) ?? null })),
      now,
      this.opts.config.notify.agentDownAfterMs,
      this.activeSince,
    );
    await this.store.apply(signals);
    await this.store.resolveAllBut('agent_disconnected', keys, new Date(now));
    const certs = agentCertSignals(
      rows.map((r) => ({ hostId: r.host_id as string, notAfter: (r.cert_not_after as Date | null) ?? null })),
      now,
      this.opts.config.notify.certWarnDays,
    );
    this.metrics.agentCertsExpiring.set(certs.keys.length);
    this.agentCertKeys = certs.keys;
    await this.store.apply(certs.signals);
    // Until the controller's own files were checked this run, their alerts are not known to be over.
    if (this.controllerCertKeys) await this.store.resolveAllBut('cert_expiry', [...this.controllerCertKeys, ...certs.keys], new Date(now));
    return labels;
  }

  private async checkCertificates(now: number): Promise<void> {
    const cfg = this.opts.config;
    const files: Record<string, string> = {};
    if (!cfg.tls.insecure) Object.assign(files, { 'tls.cert': cfg.tls.cert, 'tls.ca': cfg.tls.ca });
    if (cfg.api.enabled && !cfg.api.insecure && cfg.api.cert !== cfg.tls.cert) files['api.cert'] = cfg.api.cert;
    const { signals, keys } = certExpirySignals(files, now, cfg.notify.certWarnDays, cfg.controller.id);
    this.controllerCertKeys = keys;
    await this.store.apply(signals);
    await this.store.resolveAllBut('cert_expiry', [...keys, ...this.agentCertKeys], new Date(now));
  }

  private async dispatch(now: number, labels: Map<string, Record<string, string>>): Promise<void> {
    const pending = await this.store.pending();
    if (pending.length === 0) return;
    const cfg = this.opts.config;
    const sound = await this.soundOf(pending);
    const plan = planDispatch(
      pending,
      cfg.routes,
      { labelsOf: (h) => labels.get(h), soundOf: (p) => sound.has(p) },
      {
        now,
        groupWaitMs: cfg.notify.groupWaitMs,
        sendResolved: cfg.notify.sendResolved,
        maxListed: cfg.notify.maxAlertsListed,
        controllerId: cfg.controller.id,
      },
    );
    // Enqueued before marked: a crash in between re-plans the same messages, whose ids make the re-add a no-op.
    await enqueueMessages(this.queue, plan.messages, cfg.notify);
    for (const m of plan.messages) {
      this.metrics.messages.inc({ status: m.status });
      this.log.info({ receiver: m.receiver, messageId: m.id, status: m.status, event: m.event, hostId: m.hostId, count: m.count }, 'notification queued');
    }
    await this.store.markFiringDone(plan.firingDone);
    await this.store.markResolvedDone(plan.resolvedDone);
  }

  /** Processes flagged STATUS_PROCESS.sound = 1, among those a route with require_sound may look at. */
  private async soundOf(pending: readonly AlertRow[]): Promise<Set<number>> {
    if (!this.opts.config.routes.some((r) => r.requireSound)) return new Set();
    const ids = [...new Set(pending.map((a) => a.processId).filter((p): p is number => p !== null))];
    if (ids.length === 0) return new Set();
    const [rows] = await this.opts.pool.query<RowDataPacket[]>('SELECT process_id FROM STATUS_PROCESS WHERE sound = 1 AND process_id IN (?)', [ids]);
    return new Set(rows.map((r) => Number(r.process_id)));
  }

  /** Sends a test message to one receiver now, once, and says how it went. */
  async test(receiver: string, by: string): Promise<NotifyTestView> {
    const r = this.opts.config.receivers.find((x) => x.name === receiver);
    const sender = this.senders.get(receiver);
    if (!r || !sender) {
      const known = this.opts.config.receivers.map((x) => x.name);
      throw new NotFoundError(
        `no [receiver.${receiver}] in ${this.opts.config.source}${known.length ? `; receivers: ${known.join(', ')}` : '; no receivers are configured'}`,
      );
    }
    const at = new Date();
    const message: NotificationMessage = {
      id: `test-${at.getTime().toString(36)}`,
      status: 'test',
      receiver,
      event: 'test',
      severity: 'info',
      hostId: null,
      count: 1,
      alerts: [
        {
          key: 'test',
          event: 'log_pattern',
          severity: 'info',
          hostId: null,
          service: null,
          message: `test message requested by ${by}`,
          firedAt: at.toISOString(),
          resolvedAt: null,
        },
      ],
      title: `[TEST] smgr notification test for receiver ${receiver}`,
      createdAt: at.toISOString(),
      controllerId: this.opts.config.controller.id,
    };
    try {
      await sender.send(message);
      this.metrics.deliveries.inc({ receiver, outcome: 'delivered' });
      return { receiver, type: r.type, ok: true, messageId: message.id };
    } catch (err) {
      this.metrics.deliveries.inc({ receiver, outcome: 'test_failed' });
      return { receiver, type: r.type, ok: false, messageId: message.id, error: (err as Error).message };
    }
  }

  /** Alerts firing now, for the API. */
  async firingAlerts(): Promise<FiringAlertView[]> {
    return (await this.store.firing()).map((a) => ({ ...alertFields(a), notified: a.notifiedFiring }));
  }

  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return deadLetters(this.queue, limit);
  }

  /** Puts a dead letter back in the queue for a new round of attempts. */
  async retryDeadLetter(id: string): Promise<void> {
    const job = await this.queue.getJob(id);
    if (!job || !(await job.isFailed())) throw new NotFoundError(`no dead letter ${id}`);
    await job.retry('failed');
  }
}

function createSender(r: ReceiverConfig): ReceiverSender {
  switch (r.type) {
    case 'webhook':
      return new WebhookSender(r);
    case 'slack':
      return new SlackSender(r);
    case 'email':
      return new LazyEmailSender(r);
  }
}

/** nodemailer costs the daemon's start (and every --check-config) a second or more: loaded at the first mail. */
class LazyEmailSender implements ReceiverSender {
  private inner: Promise<ReceiverSender> | null = null;

  constructor(private readonly r: ReceiverConfig) {}

  async send(m: NotificationMessage): Promise<void> {
    this.inner ??= import('./email-sender.js')
      .then(({ EmailSender }) => new EmailSender(this.r))
      .catch((err: unknown) => {
        // An unreadable smtp_ca may be fixed before the next attempt.
        this.inner = null;
        throw new DeliveryError(`email receiver ${this.r.name} cannot be set up: ${(err as Error).message}`, true);
      });
    await (await this.inner).send(m);
  }

  close(): void {
    void this.inner?.then((s) => s.close?.()).catch(() => undefined);
  }
}

function parseStoredLabels(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, string>;
  } catch {
    // not JSON: no labels to route on
  }
  return {};
}

function toEventView(r: RowDataPacket): EventRowView {
  let detail: Record<string, unknown> | null = null;
  if (typeof r.detail === 'string' && r.detail !== '') {
    try {
      const v = JSON.parse(r.detail) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) detail = v as Record<string, unknown>;
    } catch {
      detail = null;
    }
  }
  return {
    id: Number(r.id),
    at: r.at as Date,
    kind: r.kind as string,
    processId: r.process_id === null ? null : Number(r.process_id),
    hostId: (r.host_id as string | null) ?? null,
    service: (r.service as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    message: r.message as string,
    detail,
  };
}
