import { ExitCode, type PlacementView, type PlaceResultView, type ProcessView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand } from '../context.js';

/** A process named on the command line: all digits is an id, anything else a name. */
function processRef(process: string): { processId: number } | { name: string } {
  return /^\d+$/.test(process) ? { processId: Number(process) } : { name: process };
}

const placementLine = (p: PlacementView) => `${p.processId} (${p.processName}) on ${p.hostId}${p.service ? ` as ${p.service}` : ''}`;

/** `smgr place`, `smgr unplace`, `smgr placements` and `smgr process add`: PROCESE and smgr_placement rows without SQL. */
export function placementCommands(program: CliCommand): void {
  program
    .command('place')
    .description('repair PROCESS (id or name) on host H, as service S (default: the process name); needed when several agents manage one name')
    .argument('<process>', 'PROCESE id or name')
    .requiredOption('-H, --host <host>', 'the host whose agent repairs it')
    .option('-s, --service <service>', "the agent's [process.NAME] to run (default: the process name)")
    .run(async (ctx, process: string, o: { host: string; service?: string }) => {
      const body = { ...processRef(process), hostId: o.host, ...(o.service !== undefined ? { service: o.service } : {}) };
      const r = await ctx.client().post<PlaceResultView>('/v1/placements', body);
      ctx.print(r, (b) => `${b.created ? 'placed' : 'placement updated'}: ${placementLine(b.placement)}\n`);
      if (r.warning && !ctx.json) ctx.err(`smgr: warning: ${r.warning}\n`);
    });

  program
    .command('unplace')
    .description("remove PROCESS's placement on host H, or all its placements")
    .argument('<process>', 'PROCESE id or name')
    .option('-H, --host <host>', 'only the placement on this host')
    .run(async (ctx, process: string, o: { host?: string }) => {
      const q = new URLSearchParams();
      const ref = processRef(process);
      if ('processId' in ref) q.set('processId', String(ref.processId));
      else q.set('name', ref.name);
      if (o.host !== undefined) q.set('host', o.host);
      const r = await ctx.client().delete<{ removed: PlacementView[] }>(`/v1/placements?${q}`);
      ctx.print(r, (b) => b.removed.map((p) => `unplaced: ${placementLine(p)}\n`).join(''));
    });

  program
    .command('placements')
    .description('explicit placements: which host repairs which process (smgr_placement)')
    .run((ctx) =>
      ctx.printList(
        '/v1/placements',
        'placements',
        ['ID', 'PROCESS', 'HOST', 'SERVICE'],
        (p: PlacementView) => [p.processId, p.processName, p.hostId, p.service ?? '(process name)'],
        'no explicit placement (processes go to name@host, or to the one agent managing the name)\n',
      ),
    );

  const proc = program.command('process').description('monitored processes (PROCESE + STATUS_PROCESS rows)');
  proc
    .command('add')
    .description('add a monitored process: a PROCESE row and its STATUS_PROCESS row (not in alarm)')
    .argument('<name>', 'process name (at most 100 characters): the service name, or name@host')
    .option('--id <n>', 'process_id to use (default: the highest + 1)')
    .run(async (ctx, name: string, o: { id?: string }) => {
      if (o.id !== undefined && !/^[1-9]\d{0,9}$/.test(o.id)) throw new CliError(ExitCode.USAGE, '--id must be a whole number > 0');
      if (Array.from(name).length > 100)
        throw new CliError(ExitCode.USAGE, `the name has ${Array.from(name).length} characters; PROCESE.process_name holds at most 100`);
      const r = await ctx.client().post<ProcessView>('/v1/processes', { name, ...(o.id !== undefined ? { processId: Number(o.id) } : {}) });
      ctx.print(r, (b) => `added process ${b.processId} (${b.name}), not in alarm; raise it with: smgr alarm raise ${b.processId}\n`);
    });
}
