import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expandArgv } from '@smgr/shared';
import { findProcessByPidfile, findProcessesByName, terminate, sleep, isAlive, type ProcInfo } from '../exec/process-table.js';
import type { CommandRecord } from '../exec/run-command.js';
import type { RestartStrategy, StrategyContext, StrategyResult } from './restart-strategy.js';

/** How long a freshly started command is watched for an immediate failure. */
const EARLY_EXIT_WATCH_MS = 300;

/** The processes a service currently runs as: by pidfile when configured, else by exact name. */
export async function findServiceProcesses(ctx: StrategyContext): Promise<ProcInfo[]> {
  return ctx.service.pidfile ? findProcessByPidfile(ctx.service.pidfile) : findProcessesByName(ctx.service.name);
}

/**
 * Seed 002's "process" strategy: signal the running process (SIGTERM, grace,
 * SIGKILL) and start it again from its configured start command, detached in
 * its own session so it outlives the agent.
 */
export class ProcessStrategy implements RestartStrategy {
  readonly name = 'process';

  async restart(ctx: StrategyContext): Promise<StrategyResult> {
    const steps: CommandRecord[] = [];
    const stop = await this.stop(ctx);
    steps.push(stop);
    if (!stop.ok) return { ok: false, message: stop.error, steps };
    const start = await this.start(ctx);
    steps.push(start);
    return { ok: start.ok, message: start.ok ? 'started' : start.error, steps };
  }

  async stop(ctx: StrategyContext): Promise<CommandRecord> {
    const started = Date.now();
    const procs = await findServiceProcesses(ctx);
    const { killed, survivors } = await terminate(procs, ctx.service.stopTimeoutMs);
    const ok = survivors.length === 0;
    return {
      name: 'stop',
      argv: ['kill', '-TERM', ...procs.map((p) => String(p.pid))],
      exitCode: ok ? 0 : 1,
      signal: killed.length > 0 ? 'SIGKILL' : procs.length > 0 ? 'SIGTERM' : '',
      ok,
      timedOut: false,
      startedAtMs: started,
      durationMs: Date.now() - started,
      outputTail:
        procs.length === 0
          ? 'no running process found'
          : `stopped pid ${procs.map((p) => p.pid).join(',')}${killed.length ? `; SIGKILL after ${ctx.service.stopTimeoutMs} ms: ${killed.join(',')}` : ''}`,
      error: ok ? '' : `pid ${survivors.join(',')} survived SIGKILL`,
    };
  }

  async start(ctx: StrategyContext): Promise<CommandRecord> {
    const started = Date.now();
    const alternatives = ctx.service.startCommand;
    const base = { name: 'start', signal: '', timedOut: false, startedAtMs: started };
    if (alternatives.length === 0) {
      return { ...base, argv: [], exitCode: -1, ok: false, durationMs: 0, outputTail: '', error: `no start_command configured for ${ctx.service.name}` };
    }
    let last: CommandRecord | null = null;
    for (const cmd of alternatives) {
      last = await this.spawnDetached(expandArgv(cmd, { name: ctx.service.name }), ctx, started);
      if (last.ok) return last;
    }
    return last!;
  }

  /**
   * Starts argv in its own session with stdout/stderr on a log file. Node's
   * spawn hands the file descriptor to the child directly; execa would pipe
   * output through the agent, and the service would die with the agent.
   */
  private async spawnDetached(argv: string[], ctx: StrategyContext, started: number): Promise<CommandRecord> {
    const logDir = join(ctx.stateDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const logPath = join(logDir, `${ctx.service.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)}.out`);
    const base = { name: 'start', argv, signal: '', timedOut: false, startedAtMs: started };
    const fail = (exitCode: number, error: string): CommandRecord => ({
      ...base,
      exitCode,
      ok: false,
      durationMs: Date.now() - started,
      outputTail: tailOf(logPath, ctx.tailBytes),
      error,
    });
    const fd = openSync(logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        shell: false,
        stdio: ['ignore', fd, fd],
        env: ctx.env,
        ...(ctx.service.workingDir ? { cwd: ctx.service.workingDir } : {}),
      });
    } catch (err) {
      return fail(-1, `start command could not be run: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
    // Either it fails at once (bad path, bad flag, exits non-zero) or it is left to run.
    const early = await new Promise<{ code: number | null; signal: string | null; error?: Error } | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), EARLY_EXIT_WATCH_MS);
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, error });
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    child.unref();
    if (early?.error) return fail(-1, `start command could not be run: ${early.error.message}`);
    if (early && early.code !== 0) {
      return fail(early.code ?? -1, early.signal ? `start command killed by ${early.signal}` : `start command exited ${early.code}`);
    }
    const pid = child.pid ?? 0;
    return {
      ...base,
      exitCode: 0,
      ok: true,
      durationMs: Date.now() - started,
      outputTail: early ? 'start command exited 0' : `running as pid ${pid}${isAlive(pid) ? '' : ' (already gone)'}; output in ${logPath}`,
      error: '',
    };
  }
}

function tailOf(path: string, max: number): string {
  try {
    const text = readFileSync(path);
    return text.subarray(Math.max(0, text.length - max)).toString('utf8');
  } catch {
    return '';
  }
}
