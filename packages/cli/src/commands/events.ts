import type { Command } from 'commander';
import { CliContext, type CliIo } from '../context.js';
import { table } from '../format/table.js';

/** `smgr events`: repairs, operations and rollout steps, newest first. */
export function eventsCommand(program: Command, io: CliIo): void {
  program
    .command('events')
    .description('history: repairs, operations, rollout steps (smgr_events), newest first')
    .option('-k, --kind <kind>', 'repair, operation, rollout, ...')
    .option('-s, --service <name>')
    .option('-H, --host <host>')
    .option('-n, --limit <n>', 'at most this many (default 100)')
    .action(async (o: { kind?: string; service?: string; host?: string; limit?: string }, cmd: Command) => {
      const ctx = CliContext.of(io, cmd);
      const q = new URLSearchParams();
      if (o.kind) q.set('kind', o.kind);
      if (o.service) q.set('service', o.service);
      if (o.host) q.set('host', o.host);
      if (o.limit) q.set('limit', o.limit);
      type Row = { at: string; kind: string; hostId: string | null; service: string | null; outcome: string | null; message: string };
      const body = await ctx.client().get<{ events: Row[] }>(`/v1/events${q.size > 0 ? `?${q}` : ''}`);
      ctx.print(body, (b) =>
        table(
          ['AT', 'KIND', 'HOST', 'SERVICE', 'OUTCOME', 'MESSAGE'],
          b.events.map((e) => [e.at, e.kind, e.hostId, e.service, e.outcome ? ctx.paint.state(e.outcome) : e.outcome, e.message]),
        ),
      );
    });
}
