/**
 * What GET /v1/usage answers, shared by the controller that serves it (and
 * its /metrics) and the CLI that prints it.
 */

/** One service's cost as the API and /metrics show it (numbers, not bigints). */
export interface ServiceUsageView {
  service: string;
  running: boolean;
  /** 'proc' (the main process and every process under it) or 'cgroup' (the systemd unit's cgroup). */
  source: string;
  mainPid: number;
  rssBytes: number;
  /** Percent of one CPU since the previous sample; null on the first sample of a main process. */
  cpuPercent: number | null;
  threads: number;
  /** null when the agent may not read the processes' fd lists. */
  openFiles: number | null;
  processes: number;
  uptimeSeconds: number;
  restarts: number;
  sampledAt: string;
}

/** One host's entry of GET /v1/usage. */
export interface HostUsageView {
  hostId: string;
  connected: boolean;
  /** When the controller received the host's latest report (ISO); null when it sent none. */
  receivedAt: string | null;
  services: ServiceUsageView[];
}
