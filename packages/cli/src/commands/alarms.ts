import type { Command } from 'commander';
import { ExitCode } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import { CliContext, type CliIo } from '../context.js';
import { table } from '../format/table.js';
import type { ApiClient } from '../api-client.js';

/** A PROCESE/STATUS_PROCESS row as the API shows it. */
export interface ProcessView {
  processId: number;
  name: string;
  alarma: number;
  notes: string | null;
  incident: { state: string; hostId: string | null; attempts: number } | null;
}

/** Rows as a table: id, name, alarm, smgr's incident, notes. */
export function processTable(rows: readonly ProcessView[]): string {
  return table(
    ['ID', 'NAME', 'ALARM', 'INCIDENT', 'NOTES'],
    rows.map((p) => [
      p.processId,
      p.name,
      p.alarma === 1 ? 'ALARM' : 'ok',
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

/** POST /v1/alarms/raise|clear; returns the rows changed. */
export async function setAlarms(client: ApiClient, verb: 'raise' | 'clear', body: object): Promise<{ changed: number; processes: ProcessView[] }> {
  return client.post(`/v1/alarms/${verb}`, body);
}

/** `smgr alarms` and `smgr alarm raise|clear`. */
export function alarmCommands(program: Command, io: CliIo): void {
  program
    .command('alarms')
    .description('processes in alarm (STATUS_PROCESS.alarma = 1), or every monitored process with --all')
    .option('-a, --all', 'every process, in alarm or not')
    .action(async (o: { all?: boolean }, cmd: Command) => {
      const ctx = CliContext.of(io, cmd);
      if (o.all) {
        const body = await ctx.client().get<{ processes: ProcessView[] }>('/v1/processes');
        ctx.print(body, (b) => processTable(b.processes));
      } else {
        const body = await ctx.client().get<{ alarms: ProcessView[] }>('/v1/alarms');
        ctx.print(body, (b) => (b.alarms.length === 0 ? 'no process in alarm\n' : processTable(b.alarms)));
      }
    });

  const alarm = program.command('alarm').description('raise or clear alarms (what legacy writers do with UPDATE STATUS_PROCESS SET alarma)');
  for (const verb of ['raise', 'clear'] as const) {
    alarm
      .command(verb)
      .description(verb === 'raise' ? 'set processes in alarm: smgr repairs them' : 'reset alarms (alarma = 0)')
      .argument('[process...]', 'process ids or names')
      .option('-a, --all', 'every process')
      .action(async (targets: string[], o: { all?: boolean }, cmd: Command) => {
        const ctx = CliContext.of(io, cmd);
        const r = await setAlarms(ctx.client(), verb, targetBody(targets, o.all));
        ctx.print(r, (b) => `${verb === 'raise' ? 'raised' : 'cleared'} ${b.changed} alarm(s): ${b.processes.map((p) => `${p.processId} (${p.name})`).join(', ') || 'none'}\n`);
      });
  }
}
