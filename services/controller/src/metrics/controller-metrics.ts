import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostUsage, ServiceUsageView } from '../usage/service-usage-store.js';

/**
 * Services per host exported as smgr_service_* series (the first ones by
 * name; the rest are in the API): with hosts x this cap, a host with a
 * thousand services cannot swamp Prometheus.
 */
export const METRICS_SERVICES_PER_HOST = 50;
/** Reports older than this (an agent gone for good, a controller no longer holding its stream) export nothing. */
export const METRICS_USAGE_MAX_AGE_MS = 5 * 60_000;

/** What the gauges read at scrape time; each may fail (MySQL/Redis down) without failing the scrape. */
export interface MetricsSources {
  connectedAgents(): number;
  isActive(): boolean;
  /** BullMQ job counts by state (waiting, active, delayed, ...). */
  queueCounts(): Promise<Record<string, number>>;
  /** Breakers open right now (smgr_breakers.open_until in the future). */
  openBreakers(): Promise<number>;
  /** The latest usage report of each host connected here, within `maxAgeMs`. */
  serviceUsage?(maxAgeMs: number): readonly HostUsage[];
}

export interface ControllerMetricsOptions {
  /** Node process metrics (process_resident_memory_bytes, event loop lag, ...); default true. */
  defaultMetrics?: boolean;
  /** A scrape waits this long for MySQL/Redis before reporting the last value; default 1 s. */
  sourceTimeoutMs?: number;
}

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2, 5, 10, 30];
const REPAIR_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The controller's Prometheus metrics in their own registry. The HTTP API
 * serves `registry.metrics()` as GET /metrics; counters and histograms are
 * fed by the poller, the repair worker and the gateway, gauges are read from
 * `bind()`'s sources at scrape time.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  /** Alarm occurrences that opened an incident, by where they were seen (poll, agent). */
  readonly alarmsSeen: Counter<'source'>;
  /** Recorded repair outcomes: succeeded, failed, refused, no_result. */
  readonly repairs: Counter<'outcome'>;
  /** From sending a job to its result (or giving up), by outcome. */
  readonly repairDuration: Histogram<'outcome'>;
  /** From an incident opening to its alarm being cleared by a repair. */
  readonly alarmToCleared: Histogram;
  /**
   * Upper bound of the time an alarm waited to be seen: the time since the
   * previous successful poll that did not see it.
   */
  readonly detectionLatency: Histogram;
  /** Agent streams refused, by refusal code (IDENTITY_MISMATCH, NOT_ACTIVE, BAD_FRAME, ...). */
  readonly agentRefusals: Counter<'code'>;
  /** Events and results from connected agents refused at the edge: bad_event, bad_result, rate. */
  readonly agentInputRefused: Counter<'reason'>;
  /** API requests refused before any work (401 unauthenticated, 429 rate limited), by status. */
  readonly apiRefusals: Counter<'status'>;
  /** TLS handshakes refused, by OpenSSL reason (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...). */
  readonly tlsRefusals: Counter<'reason'>;
  /** Alarms that could not be placed on a host, by code (UNPLACED, AMBIGUOUS, BAD_NAME). */
  readonly unplaced: Counter<'code'>;
  /** Jobs on this controller's delivery queue refused unsent: malformed, bad_signature (not signed with the fleet secret). */
  readonly deliveriesRefused: Counter<'reason'>;
  private sources: MetricsSources | null = null;
  private readonly timeoutMs: number;

  constructor(opts: ControllerMetricsOptions = {}) {
    const registers = [this.registry];
    this.timeoutMs = opts.sourceTimeoutMs ?? 1_000;
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string>(name: string, help: string, label: L) => new Counter<L>({ name, help, labelNames: [label], registers });
    const histogram = <L extends string = never>(name: string, help: string, buckets: number[], labelNames: L[] = []) =>
      new Histogram<L>({ name, help, labelNames, buckets, registers });
    this.alarmsSeen = counter('smgr_alarms_seen_total', 'alarm occurrences that opened an incident', 'source');
    this.repairs = counter('smgr_repairs_total', 'recorded repair outcomes', 'outcome');
    this.repairDuration = histogram('smgr_repair_duration_seconds', 'time from sending a repair job to its result', REPAIR_BUCKETS, ['outcome']);
    this.alarmToCleared = histogram('smgr_alarm_to_cleared_seconds', 'time from an incident opening to its alarm being cleared by a repair', REPAIR_BUCKETS);
    this.detectionLatency = histogram(
      'smgr_alarm_detection_seconds',
      'upper bound of alarm detection latency: time since the previous successful poll',
      LATENCY_BUCKETS,
    );
    this.agentRefusals = counter('smgr_agent_refusals_total', 'agent streams refused', 'code');
    this.agentInputRefused = counter('smgr_agent_input_refused_total', 'agent events and results refused at the edge', 'reason');
    this.apiRefusals = counter('smgr_api_refused_total', 'API requests refused before any work', 'status');
    this.tlsRefusals = counter('smgr_tls_refusals_total', 'TLS handshakes refused', 'reason');
    this.deliveriesRefused = counter('smgr_deliveries_refused_total', 'jobs on the delivery queue refused unsent', 'reason');
    this.unplaced = counter('smgr_alarms_unplaced_total', 'alarms that could not be placed on a host', 'code');

    const self = this;
    new Gauge({
      name: 'smgr_connected_agents',
      help: 'agents with an open stream to this controller',
      registers,
      collect() {
        this.set(self.sources?.connectedAgents() ?? 0);
      },
    });
    new Gauge({
      name: 'smgr_controller_active',
      help: '1 when this controller holds the HA lease and repairs, 0 on standby',
      registers,
      collect() {
        this.set(self.sources?.isActive() ? 1 : 0);
      },
    });
    let lastOpen = 0;
    new Gauge({
      name: 'smgr_open_breakers',
      help: 'circuit breakers open now (process x host)',
      registers,
      async collect() {
        const n = await self.read((s) => s.openBreakers());
        if (n !== undefined) lastOpen = n;
        this.set(lastOpen);
      },
    });
    const usageGauge = (name: string, help: string, pick: (u: ServiceUsageView) => number | null) =>
      new Gauge({
        name,
        help: `${help} (labelled host and service; at most ${METRICS_SERVICES_PER_HOST} services per host)`,
        labelNames: ['host', 'service'],
        registers,
        collect() {
          this.reset();
          for (const h of self.sources?.serviceUsage?.(METRICS_USAGE_MAX_AGE_MS) ?? []) {
            for (const u of h.services.slice(0, METRICS_SERVICES_PER_HOST)) {
              const v = pick(u);
              if (v !== null) this.set({ host: h.hostId, service: u.service }, v);
            }
          }
        },
      });
    usageGauge('smgr_service_up', '1 when the service runs, 0 when the agent found no process', (u) => (u.running ? 1 : 0));
    usageGauge('smgr_service_memory_bytes', "memory of the service: RSS of its process tree, or its cgroup's memory.current", (u) =>
      u.running ? u.rssBytes : null,
    );
    usageGauge('smgr_service_cpu_percent', 'CPU of the service in percent of one CPU between two samples', (u) => (u.running ? u.cpuPercent : null));
    usageGauge('smgr_service_threads', 'threads of the service', (u) => (u.running ? u.threads : null));
    usageGauge('smgr_service_open_files', 'open files of the service', (u) => (u.running ? u.openFiles : null));
    usageGauge('smgr_service_processes', 'processes of the service, the main one included', (u) => (u.running ? u.processes : null));
    usageGauge('smgr_service_uptime_seconds', 'time since the main process of the service started', (u) => (u.running ? u.uptimeSeconds : null));
    usageGauge('smgr_service_restarts', 'times the agent saw the main process of the service change since the agent started', (u) => u.restarts);
    const lastDepth: Record<string, number> = {};
    new Gauge({
      name: 'smgr_queue_depth',
      help: 'repair jobs in the BullMQ queue by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await self.read((s) => s.queueCounts());
        if (counts) Object.assign(lastDepth, counts);
        for (const [state, n] of Object.entries(lastDepth)) this.set({ state }, n);
      },
    });
  }

  /** Connects the scrape-time gauges to the running controller. */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Undefined when unbound, failed or slower than the timeout: the gauge keeps its last value. */
  private async read<T>(fn: (s: MetricsSources) => Promise<T>): Promise<T | undefined> {
    const sources = this.sources;
    if (!sources) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(sources),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), this.timeoutMs);
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
