import type { ServiceUsage, ServiceUsageReport, ServiceUsageView } from '@smgr/shared';

export type { ServiceUsageView };

/** The latest report of one host. */
export interface HostUsage {
  hostId: string;
  /** When the controller received it (epoch ms). */
  receivedAtMs: number;
  services: ServiceUsageView[];
}

function view(u: ServiceUsage): ServiceUsageView {
  return {
    service: u.service,
    running: u.running,
    source: u.source,
    mainPid: u.mainPid,
    rssBytes: Number(u.rssBytes),
    cpuPercent: u.cpuPercent ?? null,
    threads: u.threads,
    openFiles: u.openFiles ?? null,
    processes: u.processes,
    uptimeSeconds: Math.round(Number(u.uptimeMs) / 1000),
    restarts: u.restarts,
    sampledAt: new Date(Number(u.sampledAtMs)).toISOString(),
  };
}

/**
 * The newest usage report of every host connected to this controller, in
 * memory: reports come after every watch round and are worth nothing a few
 * rounds later, so they are not stored in MySQL. FleetUsage
 * (fleet/fleet-usage.ts) shares them with the other controllers through
 * Redis, so any controller's API shows the whole fleet; /metrics shows the
 * hosts connected here. A report replaces the host's previous one whole,
 * so memory is bounded by hosts × AGENT_LIMITS.usageServices.
 */
export class ServiceUsageStore {
  private readonly hosts = new Map<string, HostUsage>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps a validated report as the host's latest. */
  put(hostId: string, report: ServiceUsageReport): void {
    const services = report.services.map(view).sort((a, b) => a.service.localeCompare(b.service, 'en', { numeric: true }));
    this.hosts.set(hostId, { hostId, receivedAtMs: this.now(), services });
  }

  get(hostId: string): HostUsage | undefined {
    return this.hosts.get(hostId);
  }

  /** Every host's latest report, received within `maxAgeMs` when given. */
  all(maxAgeMs?: number): HostUsage[] {
    const now = this.now();
    return [...this.hosts.values()].filter((h) => maxAgeMs === undefined || now - h.receivedAtMs <= maxAgeMs);
  }

  /** The host was forgotten: its numbers go too. */
  remove(hostId: string): void {
    this.hosts.delete(hostId);
  }
}
