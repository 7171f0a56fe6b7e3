import type { CliCommand, CliContext } from '../context.js';
import { runOperation, withWaitOptions, type RunOptions } from './operations.js';
import { withSelector } from './selectors.js';
import { formatBytes, type HostUsageView, type StatusView } from '@smgr/shared';

/** `smgr status` (fleet overview) and `smgr status SERVICE` (STATUS on its hosts). */
export function statusCommand(program: CliCommand): void {
  withWaitOptions(
    withSelector(
      program
        .command('status')
        .description('without SERVICE: fleet overview; with SERVICE: run STATUS on the hosts managing it (exit 1 if any is down)')
        .argument('[service]', "a service name from the agents' [process.NAME] sections"),
    ),
  ).run(async (ctx, service: string | undefined, o: RunOptions) => {
    if (service !== undefined) {
      await runOperation(ctx, 'status', service, o);
      return;
    }
    await overview(ctx);
  });
}

async function overview(ctx: CliContext): Promise<void> {
  const status = await ctx.client().get<StatusView>('/v1/status');
  const usage = await ctx.client().get<{ hosts: HostUsageView[] }>('/v1/usage');
  const body = { ...status, usage: usageSummary(usage.hosts) };
  ctx.print(body, (b) => {
    const lines = [
      `controller ${b.controllerId} (smgr ${b.version}) at ${ctx.settings.url.origin}`,
      `hosts:     ${b.hosts.connected} of ${b.hosts.total} connected`,
      `alarms:    ${b.alarms} in alarm, ${b.openIncidents} open incident(s)`,
      `services:  ${b.usage.running} of ${b.usage.services} running on ${b.usage.hosts} connected host(s)` +
        (b.usage.topMemory ? `; most memory ${b.usage.topMemory.host}/${b.usage.topMemory.service} ${formatBytes(b.usage.topMemory.value)}` : '') +
        (b.usage.topCpu ? `; most CPU ${b.usage.topCpu.host}/${b.usage.topCpu.service} ${b.usage.topCpu.value.toFixed(1)}%` : '') +
        (b.usage.services > 0 ? ' (smgr hosts --services)' : ''),
      `rollouts:  ${b.activeRollouts.length === 0 ? 'none active' : ''}`,
    ];
    for (const r of b.activeRollouts) {
      const counts = Object.entries(r.hostCounts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      lines.push(`  ${r.id}  ${r.service} -> ${r.version}  ${r.state}  (${counts})`);
    }
    return `${lines.join('\n')}\n`;
  });
}

interface Top {
  host: string;
  service: string;
  value: number;
}

/** Services sampled on connected hosts, how many run, and the costliest by memory and by CPU. */
function usageSummary(hosts: HostUsageView[]): { hosts: number; services: number; running: number; topMemory: Top | null; topCpu: Top | null } {
  const live = hosts.filter((h) => h.connected);
  let topMemory: Top | null = null;
  let topCpu: Top | null = null;
  let services = 0;
  let running = 0;
  for (const h of live) {
    for (const s of h.services) {
      services += 1;
      if (!s.running) continue;
      running += 1;
      if (!topMemory || s.rssBytes > topMemory.value) topMemory = { host: h.hostId, service: s.service, value: s.rssBytes };
      if (s.cpuPercent !== null && (!topCpu || s.cpuPercent > topCpu.value)) topCpu = { host: h.hostId, service: s.service, value: s.cpuPercent };
    }
  }
  return { hosts: live.length, services, running, topMemory, topCpu };
}
