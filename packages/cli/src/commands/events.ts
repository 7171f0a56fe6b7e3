import type { EventView } from '@smgr/shared';
import type { CliCommand } from '../context.js';
import { withQuery } from '../api-client.js';

/** `smgr events`: repairs, operations and rollout steps, newest first. */
export function eventsCommand(program: CliCommand): void {
  program
    .command('events')
    .description('history: repairs, operations, rollout steps (smgr_events), newest first')
    .option('-k, --kind <kind>', 'repair, operation, rollout, ...')
    .option('-s, --service <name>')
    .option('-H, --host <host>')
    .option('-n, --limit <n>', 'at most this many (default 100)')
    .run((ctx, o: { kind?: string; service?: string; host?: string; limit?: string }) => {
      return ctx.printList(
        withQuery('/v1/events', { kind: o.kind, service: o.service, host: o.host, limit: o.limit }),
        'events',
        ['AT', 'KIND', 'HOST', 'SERVICE', 'OUTCOME', 'MESSAGE'],
        (e: EventView) => [e.at, e.kind, e.hostId, e.service, e.outcome ? ctx.paint.state(e.outcome) : e.outcome, e.message],
      );
    });
}
