import { ExitCode, type AlarmChangeView, type ProcessView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand } from '../context.js';
import { table } from '../format/table.js';
import type { ApiClient } from '../api-client.js';
import { PLAIN, type Paint } from '../format/colors.js';

/** Rows as a table: id, name, alarm (red ALARM, green ok on a terminal), smgr's incident, notes. */
export function processTable(rows: readonly ProcessView[], c: Paint = PLAIN): string {
  return table(
    ['ID', 'NAME', 'ALARM', 'INCIDENT', 'NOTES'],
    rows.map((p) => [
      p.processId,
      p.name,
      p.alarma === 1 ? c.red('ALARM') : c.green('ok'),
      p.incident ? `${p.incident.state}${p.incident.hostId ? ` on ${p.incident.hostId}` : ''}` : '-',
      p.notes ?? '',
    ]),
  );
}

/** The API body naming processes by id (all digits) or by name. */
export function targetBody(targets: readonly string[], all: boolean | undefined): { processIds?: number[]; names?: string[]; all?: true } {
  if (all) {
    if (targets.length > 0) throw new CliError(ExitCode.USAGE, 'give process ids or names, or --all, not both');
    return { all: true };
  }
  if (targets.length === 0) throw new CliError(ExitCode.USAGE, 'name at least one process (id or name), or --all');
  const numeric = targets.every((t) => /^\d+$/.test(t));
  if (numeric) return { processIds: targets.map(Number) };
  if (targets.some((t) => /^\d+$/.test(t))) throw new CliError(ExitCode.USAGE, 'give process ids or names, not a mix');
  return { names: [...targets] };
}

/** POST /v1/alarms/raise|clear: `changed` rows whose alarm moved (listed in `processes`) of `matched` named. */
export async function setAlarms(client: ApiClient, verb: 'raise' | 'clear', body: object): Promise<AlarmChangeView> {
  return client.post(`/v1/alarms/${verb}`, body);
}

/** "raised 1 alarm(s): 2 (beta)"; "cleared 0 alarm(s): no alarm was raised". */
export function alarmChangeLine(verb: 'raise' | 'clear', r: AlarmChangeView): string {
  const done = `${verb === 'raise' ? 'raised' : 'cleared'} ${r.changed} alarm(s)`;
  if (r.changed === 0) return `${done}: ${verb === 'raise' ? 'every process named was already in alarm' : 'no alarm was raised'}\n`;
  const rest = r.matched - r.changed;
  const already = rest > 0 ? ` (${rest} ${verb === 'raise' ? 'already in alarm' : 'not in alarm'})` : '';
  return `${done}: ${r.processes.map((p) => `${p.processId} (${p.name})`).join(', ')}${already}\n`;
}

/** `smgr alarms` and `smgr alarm raise|clear`. */
export function alarmCommands(program: CliCommand): void {
  program
    .command('alarms')
    .description('processes in alarm (STATUS_PROCESS.alarma = 1), or every monitored process with --all')
    .option('-a, --all', 'every process, in alarm or not')
    .run(async (ctx, o: { all?: boolean }) => {
      if (o.all) {
        const body = await ctx.client().get<{ processes: ProcessView[] }>('/v1/processes');
        ctx.print(body, (b) => processTable(b.processes, ctx.paint));
      } else {
        const body = await ctx.client().get<{ alarms: ProcessView[] }>('/v1/alarms');
        ctx.print(body, (b) => (b.alarms.length === 0 ? 'no process in alarm\n' : processTable(b.alarms, ctx.paint)));
      }
    });

  const alarm = program.command('alarm').description('raise or clear alarms (what legacy writers do with UPDATE STATUS_PROCESS SET alarma)');
  for (const verb of ['raise', 'clear'] as const) {
    alarm
      .command(verb)
      .description(verb === 'raise' ? 'set processes in alarm: smgr repairs them' : 'reset alarms (alarma = 0)')
      .argument('[process...]', 'process ids or names')
      .option('-a, --all', 'every process')
      .run(async (ctx, targets: string[], o: { all?: boolean }) => {
        const r = await setAlarms(ctx.client(), verb, targetBody(targets, o.all));
        ctx.print(r, (b) => alarmChangeLine(verb, b));
      });
  }
}
