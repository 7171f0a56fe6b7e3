import type { Redis } from 'ioredis';
import type { Logger } from '@smgr/shared';
import type { HostUsage, ServiceUsageStore, ServiceUsageView } from '../usage/service-usage-store.js';

export interface FleetUsageOptions {
  redis: Redis;
  /** redis.prefix: the reports live beside the fleet's other records. */
  prefix: string;
  controllerId: string;
  /** The reports of the agents connected here (AgentGateway.usage). */
  local: Pick<ServiceUsageStore, 'get' | 'all'>;
  /** Every host connected to a live controller, and to which (HostRoutes.connectedHosts). */
  connectedHosts: () => Promise<Map<string, string>>;
  /** The controller holding a host's stream (HostRoutes.ownerOf). */
  ownerOf: (hostId: string) => Promise<string | null>;
  log: Logger;
  /** How long a shared report lasts without a newer one; default 3 min. */
  ttlMs?: number;
  /** How often new local reports are shared; default 1 s. */
  publishMs?: number;
}

/** Keys per MGET. */
const CHUNK = 500;
/** A shared report larger than this is ignored (a report holds at most AGENT_LIMITS.usageServices services). */
const MAX_REPORT_BYTES = 512 * 1024;

/**
 * Usage reports for the whole fleet: each controller shares the reports of
 * the agents it holds in Redis (`<prefix>:smgr:fleet:usage:<host>`, JSON,
 * expiring after `ttlMs` without a newer report), and any controller's API
 * answers with its own reports plus those of the hosts connected elsewhere
 * (the newer one when both have one). Read-only numbers: nothing is sent to
 * an agent from them. While Redis cannot be read the API shows the local
 * reports. /metrics stays per controller (each exports its own agents').
 */
export class FleetUsage {
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private sharedUpTo = 0;
  private lastError = 0;

  constructor(private readonly opts: FleetUsageOptions) {
    this.log = opts.log.child({ component: 'fleet-usage' });
  }

  start(): void {
    this.timer = setInterval(() => void this.publish(), this.opts.publishMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private key(hostId: string): string {
    return `${this.opts.prefix}:smgr:fleet:usage:${hostId}`;
  }

  /** Shares the reports received here since the last time. */
  async publish(): Promise<void> {
    const fresh = this.opts.local.all().filter((h) => h.receivedAtMs > this.sharedUpTo);
    if (fresh.length === 0) return;
    const pipe = this.opts.redis.pipeline();
    for (const h of fresh) pipe.set(this.key(h.hostId), JSON.stringify(h), 'PX', this.opts.ttlMs ?? 180_000);
    try {
      await pipe.exec();
      this.sharedUpTo = Math.max(...fresh.map((h) => h.receivedAtMs));
    } catch (err) {
      this.warn(err, 'could not share usage reports; will retry');
    }
  }

  /** Every host's latest report, fleet-wide. */
  async all(): Promise<HostUsage[]> {
    const out = new Map(this.opts.local.all().map((h) => [h.hostId, h]));
    try {
      const elsewhere = [...(await this.opts.connectedHosts())].filter(([, c]) => c !== this.opts.controllerId).map(([h]) => h);
      for (let i = 0; i < elsewhere.length; i += CHUNK) {
        const chunk = elsewhere.slice(i, i + CHUNK);
        const values = await this.opts.redis.mget(chunk.map((h) => this.key(h)));
        values.forEach((v, j) => {
          const remote = parse(v, chunk[j]!);
          const mine = out.get(chunk[j]!);
          if (remote && (!mine || remote.receivedAtMs > mine.receivedAtMs)) out.set(remote.hostId, remote);
        });
      }
    } catch (err) {
      this.warn(err, 'could not read the fleet usage reports; showing this controller');
    }
    return [...out.values()];
  }

  /** One host's latest report, wherever it is connected. */
  async get(hostId: string): Promise<HostUsage | undefined> {
    const mine = this.opts.local.get(hostId);
    try {
      const owner = await this.opts.ownerOf(hostId);
      if (owner === null || owner === this.opts.controllerId) return mine;
      const remote = parse(await this.opts.redis.get(this.key(hostId)), hostId);
      return remote && (!mine || remote.receivedAtMs > mine.receivedAtMs) ? remote : mine;
    } catch (err) {
      this.warn(err, 'could not read the fleet usage reports; showing this controller');
      return mine;
    }
  }

  private warn(err: unknown, msg: string): void {
    if (Date.now() - this.lastError < 10_000) return;
    this.lastError = Date.now();
    this.log.warn({ err: (err as Error).message }, msg);
  }
}

/** A shared report, checked for shape (it comes from Redis); null when absent or malformed. */
export function parse(v: string | null, hostId: string): HostUsage | null {
  if (v === null || v.length > MAX_REPORT_BYTES) return null;
  try {
    const h = JSON.parse(v) as Partial<HostUsage>;
    if (h.hostId !== hostId || typeof h.receivedAtMs !== 'number' || !Number.isFinite(h.receivedAtMs) || !Array.isArray(h.services)) return null;
    const services = h.services
      .slice(0, 1000)
      .map(pick)
      .filter((x): x is ServiceUsageView => x !== null);
    return { hostId, receivedAtMs: h.receivedAtMs, services };
  } catch {
    return null;
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The known fields of a shared service view, or null when its shape is wrong. */
function pick(s: unknown): ServiceUsageView | null {
  const x = s as Record<string, unknown> | null;
  if (!x || typeof x !== 'object' || typeof x.service !== 'string' || x.service.length > 255 || typeof x.running !== 'boolean') return null;
  if (typeof x.source !== 'string' || x.source.length > 16 || typeof x.sampledAt !== 'string' || x.sampledAt.length > 40) return null;
  return {
    service: x.service,
    running: x.running,
    source: x.source,
    mainPid: num(x.mainPid) ?? 0,
    rssBytes: num(x.rssBytes) ?? 0,
    cpuPercent: num(x.cpuPercent),
    threads: num(x.threads) ?? 0,
    openFiles: num(x.openFiles),
    processes: num(x.processes) ?? 0,
    uptimeSeconds: num(x.uptimeSeconds) ?? 0,
    restarts: num(x.restarts) ?? 0,
    sampledAt: x.sampledAt,
  };
}
