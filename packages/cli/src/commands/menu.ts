import { createInterface } from 'node:readline';
import { ExitCode, type ProcessView } from '@smgr/shared';
import { CliError } from '../cli-error.js';
import type { CliCommand, CliContext } from '../context.js';
import { processTable, setAlarms, targetBody } from './alarms.js';

const MENU = `
smgr test menu
  1) Display all services
  2) Set a specific service in alarm state
  3) Set all services in alarm state
  4) Reset all alarms
  5) Exit
`;

/**
 * `smgr menu`: seed 002's interactive test script (test_alarm.sh) over the
 * API: display all services, set one in alarm, set all in alarm, reset all.
 * Needs a terminal; scripts use `smgr alarms` and `smgr alarm raise|clear`.
 */
export function menuCommand(program: CliCommand): void {
  program
    .command('menu')
    .description("seed 002's interactive alarm test menu (needs a terminal): display all services, set one or all in alarm, reset all")
    .run(async (ctx) => {
      if (ctx.io.stdin.isTTY !== true || ctx.io.stdout.isTTY !== true) {
        throw new CliError(
          ExitCode.USAGE,
          'smgr menu needs a terminal',
          'in scripts use `smgr alarms --all`, `smgr alarm raise ID|NAME|--all`, `smgr alarm clear --all`',
        );
      }
      const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stdout, terminal: true });
      // Lines are queued, so keys typed (or pasted) ahead of a prompt are not lost.
      const lines = rl[Symbol.asyncIterator]();
      const ask = async (prompt: string): Promise<string | null> => {
        ctx.out(prompt);
        const next = await lines.next();
        return next.done === true ? null : String(next.value).trim();
      };
      try {
        await loop(ctx, ask);
      } finally {
        rl.close();
      }
    });
}

async function loop(ctx: CliContext, ask: (prompt: string) => Promise<string | null>): Promise<void> {
  const client = ctx.client();
  // Fail early (bad token, unreachable) instead of after the first choice.
  await client.get('/v1/status');
  ctx.out(`controller: ${client.url}\n`);
  for (;;) {
    ctx.out(MENU);
    const choice = await ask('Choose 1-5: ');
    if (choice === null || choice === '5' || choice.toLowerCase() === 'q') {
      ctx.out('bye\n');
      return;
    }
    try {
      switch (choice) {
        case '1': {
          const { processes } = await client.get<{ processes: ProcessView[] }>('/v1/processes');
          ctx.out(processes.length === 0 ? 'no monitored process (PROCESE is empty)\n' : processTable(processes, ctx.paint));
          break;
        }
        case '2': {
          const target = await ask('Process id or name: ');
          if (target === null || target === '') break;
          const r = await setAlarms(client, 'raise', targetBody([target], false));
          ctx.out(`set in alarm: ${r.processes.map((p) => `${p.processId} (${p.name})`).join(', ') || `${target} (it already was)`}\n`);
          break;
        }
        case '3': {
          const r = await setAlarms(client, 'raise', { all: true });
          ctx.out(`set in alarm: all ${r.matched} process(es) (${r.changed} newly)\n`);
          break;
        }
        case '4': {
          const r = await setAlarms(client, 'clear', { all: true });
          ctx.out(r.changed === 0 ? 'alarms reset: none was raised\n' : `alarms reset: ${r.changed} process(es)\n`);
          break;
        }
        default:
          ctx.out(`not a choice: ${JSON.stringify(choice)}\n`);
      }
    } catch (err) {
      if (!(err instanceof CliError) || err.exitCode === ExitCode.CONFIG || err.exitCode === ExitCode.UNAVAILABLE) throw err;
      ctx.out(`error: ${err.message}\n`);
    }
  }
}
