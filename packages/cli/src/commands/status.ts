import type { Command } from 'commander';
import type { CliContext, CliIo } from '../context.js';
import { CliContext as Ctx } from '../context.js';
import { runOperation, withWaitOptions } from './operations.js';
import { withSelector } from './selectors.js';

interface StatusBody {
  controllerId: string;
  version: string;
  hosts: { total: number; connected: number };
  alarms: number;
  openIncidents: number;
  activeRollouts: { id: number; service: string; version: string; state: string; hostCounts: Record<string, number> }[];
}

/** `smgr status` (fleet overview) and `smgr status SERVICE` (STATUS on its hosts). */
export function statusCommand(program: Command, io: CliIo): void {
  withWaitOptions(
    withSelector(
      program
        .command('status')
        .description('without SERVICE: fleet overview; with SERVICE: run STATUS on the hosts managing it (exit 1 if any is down)')
        .argument('[service]', 'a service name from the agents\' [process.NAME] sections'),
    ),
  )
    .action(async (service: string | undefined, o, cmd: Command) => {
      const ctx = Ctx.of(io, cmd);
      if (service !== undefined) {
        await runOperation(ctx, 'status', service, o);
        return;
      }
      await overview(ctx);
    });
}

async function overview(ctx: CliContext): Promise<void> {
  const body = await ctx.client().get<StatusBody>('/v1/status');
  ctx.print(body, (b) => {
    const lines = [
      `controller ${b.controllerId} (smgr ${b.version}) at ${ctx.settings.url.origin}`,
      `hosts:     ${b.hosts.connected} of ${b.hosts.total} connected`,
      `alarms:    ${b.alarms} in alarm, ${b.openIncidents} open incident(s)`,
      `rollouts:  ${b.activeRollouts.length === 0 ? 'none active' : ''}`,
    ];
    for (const r of b.activeRollouts) {
      const counts = Object.entries(r.hostCounts).map(([k, v]) => `${v} ${k}`).join(', ');
      lines.push(`  ${r.id}  ${r.service} -> ${r.version}  ${r.state}  (${counts})`);
    }
    return `${lines.join('\n')}\n`;
  });
}
