import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Delivery metrics, registered in the controller's registry (GET /metrics). */
export class NotifyMetrics {
  /** Attempts by receiver and outcome: delivered, retry, dead_letter. */
  readonly deliveries: Counter<'receiver' | 'outcome'>;
  readonly deliverySeconds: Histogram<'receiver'>;
  /** Messages enqueued by status (firing, resolved). */
  readonly messages: Counter<'status'>;
  /** Alerts firing now, and messages waiting / dead, read at scrape time. */
  readonly firing: Gauge;
  readonly queued: Gauge<'state'>;
  /** Agents whose client certificate expires within notify.cert_warn_days (or has expired), as of the last check. */
  readonly agentCertsExpiring: Gauge;

  constructor(registry: Registry, sources: { firing(): Promise<number>; queue(): Promise<Record<string, number>> }) {
    const registers = [registry];
    this.deliveries = new Counter({
      name: 'smgr_notify_deliveries_total',
      help: 'notification delivery attempts by receiver and outcome (delivered, retry, dead_letter)',
      labelNames: ['receiver', 'outcome'],
      registers,
    });
    this.deliverySeconds = new Histogram({
      name: 'smgr_notify_delivery_seconds',
      help: 'time of one delivery attempt, by receiver',
      labelNames: ['receiver'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.messages = new Counter({
      name: 'smgr_notify_messages_total',
      help: 'notification messages enqueued, by status (firing, resolved)',
      labelNames: ['status'],
      registers,
    });
    this.firing = new Gauge({
      name: 'smgr_notify_alerts_firing',
      help: 'alerts firing now (smgr_notify_alerts)',
      registers,
      async collect() {
        this.set(await sources.firing().catch(() => 0));
      },
    });
    this.agentCertsExpiring = new Gauge({
      name: 'smgr_agent_certs_expiring',
      help: 'agents whose client certificate expires within notify.cert_warn_days or has expired (set by the active controller)',
      registers,
    });
    this.queued = new Gauge({
      name: 'smgr_notify_queue_jobs',
      help: 'notification messages in the delivery queue by state (failed: dead letters)',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await sources.queue().catch(() => ({}) as Record<string, number>);
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
  }
}
