import { formatBytes, type ServiceUsageView } from '@smgr/shared';

/** "45s", "12m", "3h05m", "4d07h": an uptime at a glance. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** The columns of a service's cost after HOST and SERVICE: '-' where unknown or not running. */
export const USAGE_HEADER = ['STATE', 'PID', 'MEM', 'CPU', 'THREADS', 'FILES', 'PROCS', 'UPTIME', 'RESTARTS'] as const;

export function usageCells(u: ServiceUsageView | undefined, paintState: (s: string) => string): unknown[] {
  if (!u) return [paintState('unknown'), '-', '-', '-', '-', '-', '-', '-', '-'];
  if (!u.running) return [paintState('down'), '-', '-', '-', '-', '-', '-', '-', u.restarts];
  return [
    paintState('running'),
    u.mainPid,
    formatBytes(u.rssBytes),
    u.cpuPercent === null ? '-' : `${u.cpuPercent.toFixed(1)}%`,
    u.threads,
    u.openFiles ?? '-',
    u.processes,
    shortDuration(u.uptimeSeconds),
    u.restarts,
  ];
}
