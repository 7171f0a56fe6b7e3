import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { ExitCode, type HostOperationView, type OperationName, type OperationView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand, CliContext } from '../context.js';
import type { Paint } from '../format/colors.js';
import { renderFailure } from '../format/failure.js';
import { LiveArea } from '../format/live-area.js';
import { selectorBody, withSelector } from './selectors.js';

const POLL_MS = 250;
const REQUEST_TIMEOUT_MS = 30_000;
/** Beyond the hosts' own timeout, how long the CLI waits for the controller to record their answers. */
const WAIT_GRACE_S = 30;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const OPEN = new Set(['pending', 'running']);

/** "restart web 1.2 on 2 host(s): 1 succeeded, 1 failed" */
function headline(v: OperationView): string {
  const counts = Object.entries(v.summary)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `${v.operation} ${v.service}${v.version ? ` ${v.version}` : ''}${v.action ? ` ${v.action}` : ''} on ${v.hosts.length} host(s): ${counts || 'no host'}`;
}

/** One host's line (and, when it failed at a step, that step's exit code and output under it). */
function hostLine(v: OperationView, h: HostOperationView, c: Paint, spinner = ''): string {
  const hostWidth = Math.max(4, ...v.hosts.map((x) => x.hostId.length));
  const versionWidth = Math.max(7, ...v.hosts.map((x) => x.version.length));
  const open = OPEN.has(h.state);
  const state = `${open && spinner ? `${spinner} ` : ''}${h.state}`;
  // Pad first, then colour: escapes take no room on screen.
  const line =
    `${h.hostId.padEnd(hostWidth)}  ${c.state(h.state).replace(h.state, state.padEnd(11))}  ${(h.version || '-').padEnd(versionWidth)}  ${h.message}`.trimEnd();
  return `${line}\n${h.failure ? renderFailure(h.failure, c) : ''}`;
}

/** The whole operation: a headline and a line per host (a spinner on hosts still running while `frame` is given). */
export function renderOperation(v: OperationView, c: Paint, frame?: number): string {
  const spinner = frame === undefined ? '' : SPINNER[frame % SPINNER.length]!;
  const head = v.state === 'running' && spinner ? `${spinner} ${headline(v)}` : headline(v);
  const stateWord = v.state === 'running' ? '' : `  ${c.state(v.state === 'succeeded' ? 'succeeded' : v.state === 'failed' ? 'failed' : v.state)}`;
  return `${c.bold(head)}${stateWord}\n${v.hosts.map((h) => hostLine(v, h, c, spinner)).join('')}`;
}

/**
 * Follows an operation until every host answered (or `deadline`): on a
 * terminal, redrawn in place with a spinner on the hosts still running;
 * otherwise each host's line is printed as it finishes, then the headline.
 * --json prints the final view. Exit 1 unless every host succeeded.
 */
export async function followOperation(ctx: CliContext, first: OperationView, deadlineMs: number): Promise<void> {
  // --timeout here is what the hosts get; a poll of the controller keeps the usual request timeout.
  const client = ctx.client(REQUEST_TIMEOUT_MS);
  const c = ctx.paint;
  let view = first;
  const live = ctx.interactive ? new LiveArea(ctx.io.stdout) : null;
  const printed = new Set<string>();
  let frame = 0;
  const streamFinished = () => {
    for (const h of view.hosts) {
      if (OPEN.has(h.state) || printed.has(h.hostId)) continue;
      printed.add(h.hostId);
      ctx.out(hostLine(view, h, c));
    }
  };
  if (live) live.draw(renderOperation(view, c, frame));
  else if (!ctx.json)
    ctx.out(
      `${view.operation} ${view.service}${view.version ? ` ${view.version}` : ''}${view.action ? ` ${view.action}` : ''}: operation ${view.id} on ${view.hosts.length} host(s)\n`,
    );
  while (view.state === 'running') {
    if (Date.now() >= deadlineMs) {
      if (live) live.draw(renderOperation(view, c));
      throw new CliError(ExitCode.FAILURE, `operation ${view.id} is still running; stopped waiting`, `see how it ends: smgr operation show ${view.id} --wait`);
    }
    if (live) live.draw(renderOperation(view, c, frame));
    else if (!ctx.json) streamFinished();
    await sleep(POLL_MS);
    frame += 1;
    view = await client.get<OperationView>(`/v1/operations/${encodeURIComponent(view.id)}`);
  }
  if (live) live.draw(renderOperation(view, c));
  else if (ctx.json) ctx.out(`${JSON.stringify(view, null, 2)}\n`);
  else {
    streamFinished();
    ctx.out(`${headline(view)}\n`);
  }
  if (!view.ok) process.exitCode = ExitCode.FAILURE;
}

export interface RunOptions {
  host?: string[];
  label?: string[];
  /** Older spelling of --timeout for operations. */
  timeoutOp?: string;
  /** --wait (default) / --no-wait. */
  wait?: boolean;
}

/** Starts an operation through POST /v1/operations and, unless --no-wait, follows it; exit 1 unless every host succeeded. */
export async function runOperation(
  ctx: CliContext,
  operation: OperationName,
  service: string,
  o: RunOptions,
  version?: string,
  action?: string,
): Promise<void> {
  const given = o.timeoutOp ?? ctx.opts.timeout;
  let timeoutSeconds: number | undefined;
  if (given !== undefined) {
    timeoutSeconds = Number(given);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CliError(ExitCode.USAGE, '--timeout must be a number of seconds > 0');
  }
  const body = {
    operation,
    service,
    ...selectorBody(o),
    ...(version !== undefined ? { version } : {}),
    ...(action !== undefined ? { action } : {}),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  };
  const started = await ctx.client(REQUEST_TIMEOUT_MS).post<OperationView>('/v1/operations', body);
  if (o.wait === false) {
    if (ctx.json) ctx.out(`${JSON.stringify(started, null, 2)}\n`);
    else {
      ctx.out(`${started.id}\n`);
      ctx.err(`${operation} ${service} started on ${started.hosts.length} host(s); follow it: smgr operation show ${started.id} --wait\n`);
    }
    return;
  }
  await followOperation(ctx, started, Date.now() + ((timeoutSeconds ?? started.timeoutSeconds) + WAIT_GRACE_S) * 1000);
}

/** --wait / --no-wait and the older --timeout-op on an operation command. */
export function withWaitOptions<C extends Command>(cmd: C): C {
  return cmd
    .option('--wait', "wait for every host and show each one's line as it finishes (default)")
    .option('--no-wait', 'print the operation id and return at once (then: smgr operation show ID)')
    .addOption(new Option('--timeout-op <seconds>').hideHelp());
}

/** `smgr restart|start|stop SERVICE`, `smgr update SERVICE VERSION` and `smgr operation show ID`. */
export function operationCommands(program: CliCommand): void {
  const describe: Record<'restart' | 'start' | 'stop', string> = {
    restart: 'restart SERVICE on the selected hosts (its restart strategy and health check)',
    start: 'start SERVICE on the selected hosts (nothing happens where it is up)',
    stop: 'stop SERVICE on the selected hosts (nothing happens where it is down)',
  };
  const timeoutHelp = "\nWith --timeout SECONDS each host gets that long (default: the controller's api.operation_timeout).";
  for (const op of ['restart', 'start', 'stop'] as const) {
    withWaitOptions(withSelector(program.command(op).description(`${describe[op]}; exit 1 unless every host succeeds`).argument('<service>')))
      .addHelpText('after', timeoutHelp)
      .run((ctx, service: string, o: RunOptions) => runOperation(ctx, op, service, o));
  }
  withWaitOptions(
    withSelector(
      program
        .command('update')
        .description('update SERVICE to VERSION on the selected hosts at once (stop, install, configure, start); for a gradual update use `smgr rollout start`')
        .argument('<service>')
        .argument('<version>'),
    ),
  )
    .addHelpText('after', timeoutHelp)
    .run((ctx, service: string, version: string, o: RunOptions) => runOperation(ctx, 'update', service, o, version));

  withWaitOptions(
    withSelector(
      program
        .command('action')
        .description(
          "run the named command NAME of SERVICE on the selected hosts: an `action[] = NAME: command` entry of [process.SERVICE] in each host's own config (a host that does not define it refuses); exit 1 unless every host succeeds",
        )
        .argument('<service>')
        .argument('<name>', 'the action name'),
    ),
  )
    .addHelpText('after', `${timeoutHelp}\nExample (a CI/CD step after a deployment): smgr action websvc clear-cache --label role=web`)
    .run((ctx, service: string, name: string, o: RunOptions) => runOperation(ctx, 'action', service, o, undefined, name));

  const operation = program.command('operation').description('operations started by restart, start, stop, status SERVICE and update');
  operation
    .command('show')
    .description("an operation and each host's progress or outcome (with the failing step's exit code and output)")
    .argument('<id>', 'the operation id, op-…')
    .option('-w, --wait', 'follow it until every host answered (exit 1 unless every host succeeded)')
    .run(async (ctx, id: string, o: { wait?: boolean }) => {
      if (!/^op-[0-9a-f]{1,28}$/.test(id)) throw new CliError(ExitCode.USAGE, `${JSON.stringify(id)} is not an operation id (op-…)`);
      const view = await ctx.client().get<OperationView>(`/v1/operations/${id}`);
      if (o.wait) {
        await followOperation(ctx, view, Date.now() + (view.timeoutSeconds + WAIT_GRACE_S) * 1000);
        return;
      }
      ctx.print(view, (v) => `operation ${v.id}\n${renderOperation(v, ctx.paint)}`);
    });
}
