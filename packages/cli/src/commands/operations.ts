import type { Command } from 'commander';
import { ExitCode } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import { CliContext, type CliIo } from '../context.js';
import { table } from '../format/table.js';
import { selectorBody, withSelector } from './selectors.js';

export type OperationName = 'restart' | 'start' | 'stop' | 'status' | 'update';

interface OperationReport {
  operationId: string;
  operation: string;
  service: string;
  version?: string;
  ok: boolean;
  summary: Record<string, number>;
  results: { hostId: string; outcome: string; message: string; version: string; durationMs: number }[];
}

/** Runs an operation through POST /v1/operations and prints one line per host; exit 1 unless every host succeeded. */
export async function runOperation(
  ctx: CliContext,
  operation: OperationName,
  service: string,
  o: { host?: string[]; label?: string[]; timeoutOp?: string },
  version?: string,
): Promise<void> {
  let timeoutSeconds: number | undefined;
  if (o.timeoutOp !== undefined) {
    timeoutSeconds = Number(o.timeoutOp);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(ExitCode.USAGE, '--timeout-op must be a number of seconds > 0');
  }
  const body = {
    operation,
    service,
    ...selectorBody(o),
    ...(version !== undefined ? { version } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  };
  // The API waits for the hosts (up to api.operation_timeout): so does the request.
  const report = await ctx.client().post<OperationReport>('/v1/operations', body, Math.max(ctx.timeoutMs, ((timeoutSeconds ?? 600) + 10) * 1000));
  ctx.print(report, (r) => {
    const counts = Object.entries(r.summary).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
    const head = `${r.operation} ${r.service}${r.version ? ` ${r.version}` : ''} on ${r.results.length} host(s): ${counts}\n`;
    return head + table(['HOST', 'OUTCOME', 'VERSION', 'MESSAGE'], r.results.map((x) => [x.hostId, x.outcome, x.version || '-', x.message]));
  });
  if (!report.ok) process.exitCode = ExitCode.FAILURE;
}

/** `smgr restart|start|stop SERVICE` and `smgr update SERVICE VERSION`. */
export function operationCommands(program: Command, io: CliIo): void {
  const describe: Record<'restart' | 'start' | 'stop', string> = {
    restart: 'restart SERVICE on the selected hosts (its restart strategy and health check)',
    start: 'start SERVICE on the selected hosts (nothing happens where it is up)',
    stop: 'stop SERVICE on the selected hosts (nothing happens where it is down)',
  };
  for (const op of ['restart', 'start', 'stop'] as const) {
    withSelector(program.command(op).description(`${describe[op]}; exit 1 unless every host succeeds`).argument('<service>'))
      .option('--timeout-op <seconds>', 'how long to wait for the hosts')
      .action(async (service: string, o, cmd: Command) => runOperation(CliContext.of(io, cmd), op, service, o));
  }
  withSelector(
    program
      .command('update')
      .description('update SERVICE to VERSION on the selected hosts at once (stop, install, configure, start); for a gradual update use `smgr rollout start`')
      .argument('<service>')
      .argument('<version>'),
  )
    .option('--timeout-op <seconds>', 'how long to wait for the hosts')
    .action(async (service: string, version: string, o, cmd: Command) => runOperation(CliContext.of(io, cmd), 'update', service, o, version));
}
