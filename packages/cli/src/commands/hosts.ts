import type { Command } from 'commander';
import { CliContext, type CliIo } from '../context.js';
import { ago, labels, table } from '../format/table.js';
import { collectLabel } from './selectors.js';

interface HostView {
  hostId: string;
  connected: boolean;
  lastSeen: string | null;
  agentVersion: string;
  labels: Record<string, string>;
  services: string[];
}

/** `smgr hosts`: the agents the controller knows. */
export function hostsCommand(program: Command, io: CliIo): void {
  program
    .command('hosts')
    .description('list hosts (agents): connection, labels, services')
    .option('-s, --service <name>', 'only hosts managing this service')
    .option('-l, --label <key=value>', 'only hosts with this label; repeatable', collectLabel)
    .action(async (o: { service?: string; label?: string[] }, cmd: Command) => {
      const ctx = CliContext.of(io, cmd);
      const q = new URLSearchParams();
      if (o.service) q.set('service', o.service);
      for (const l of o.label ?? []) q.append('label', l);
      const body = await ctx.client().get<{ hosts: HostView[] }>(`/v1/hosts${q.size > 0 ? `?${q}` : ''}`);
      ctx.print(body, (b) =>
        table(
          ['HOST', 'STATE', 'LAST SEEN', 'AGENT', 'LABELS', 'SERVICES'],
          b.hosts.map((h) => [h.hostId, ctx.paint.state(h.connected ? 'connected' : 'down'), h.connected ? 'now' : ago(h.lastSeen), h.agentVersion, labels(h.labels), h.services.join(',')]),
        ),
      );
    });
}
