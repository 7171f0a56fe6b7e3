import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { expandArgv } from '@smgr/shared';
import { findServiceProcesses, invalidateProcessTable, noteStarted, terminate, isAlive, sleep } from '../exec/process-table.js';
import type { StartedProcesses } from '../exec/started-processes.js';
import { resolveRunAs, runAsSpawnOptions } from '../exec/run-as.js';
import { commForName } from '../exec/process-names.js';
import type { CommandRecord } from '../exec/run-command.js';
import { describeRecord, internalRecord, runHook } from '../lifecycle/operation-context.js';
import { isExactNameCheck } from '../lifecycle/checks.js';
import type { RestartStrategy, StrategyContext, StrategyResult } from '../lifecycle/restart-strategy.js';

/**
 * How long a freshly started command is watched for an immediate failure,
 * at most: the watch ends sooner when the command exits 0 (a daemon's start
 * script) or when the process already runs under the service's name and the
 * service's health check is the built-in name check (it would pass now).
 */
const EARLY_EXIT_WATCH_MS = 300;
/** How often the early-exit watch looks at the started process's name. */
const EARLY_NAME_POLL_MS = 5;

/** Told when a process the strategy started (and that outlived its early-exit watch) exits. */
export type StartedProcessExit = (service: string, pid: number, code: number | null, signal: string | null) => void;

export interface ProcessStrategyOptions {
  onExit?: StartedProcessExit;
  /** Kept up to date with the processes started here that run under their service's name. */
  started?: StartedProcesses;
}

const what = (ctx: StrategyContext) => (ctx.service.pidfile ? `pidfile ${ctx.service.pidfile}` : `process name ${ctx.service.name}`);

/**
 * Seed 002's "process" strategy. stop: stop_command when configured (its
 * alternatives in order; when one succeeds the process gets stop_timeout to
 * exit by itself), then SIGTERM, stop_timeout, SIGKILL for whatever still
 * runs (found by pidfile or exact name). start: start_command spawned
 * detached in its own session, so it outlives the agent.
 */
export class ProcessStrategy implements RestartStrategy {
  readonly name = 'process';

  constructor(private readonly opts: ProcessStrategyOptions = {}) {}

  async restart(ctx: StrategyContext): Promise<StrategyResult> {
    const stop = await this.stop(ctx);
    if (!stop.ok) return stop;
    const start = await this.start(ctx);
    return { ...start, steps: [...stop.steps, ...start.steps] };
  }

  async stop(ctx: StrategyContext): Promise<StrategyResult> {
    const steps: CommandRecord[] = [];
    if (ctx.service.stopCommand.length > 0) {
      const hook = await runHook(ctx, 'stop', ctx.service.stopCommand);
      steps.push(...hook);
      // A stop command usually returns before the process is gone: give it
      // stop_timeout to go by itself before any signal is sent.
      if (hook.at(-1)?.ok) {
        const until = Date.now() + Math.min(ctx.service.stopTimeoutMs, ctx.deadline.remaining());
        while (Date.now() < until && (await findServiceProcesses(ctx)).length > 0) await sleep(100);
      }
    }
    const kill = await this.signalStop(ctx);
    steps.push(kill);
    return { ok: kill.ok, message: kill.ok ? 'stopped' : kill.error, strategy: this.name, steps };
  }

  async start(ctx: StrategyContext): Promise<StrategyResult> {
    const started = Date.now();
    const alternatives = ctx.service.startCommand;
    if (alternatives.length === 0) {
      const r = internalRecord('start', [], false, '', started, `no start_command configured for ${ctx.service.name}`);
      return { ok: false, message: r.error, strategy: this.name, steps: [r] };
    }
    const steps: CommandRecord[] = [];
    for (const cmd of alternatives) {
      const r = await this.spawnDetached(expandArgv(cmd, { name: ctx.service.name }), ctx);
      steps.push(r);
      if (r.ok) return { ok: true, message: 'started', strategy: this.name, steps };
    }
    return { ok: false, message: describeRecord(steps.at(-1)!), strategy: this.name, steps };
  }

  async probe(ctx: StrategyContext): Promise<CommandRecord> {
    const started = Date.now();
    const procs = await findServiceProcesses(ctx);
    const pids = procs.map((p) => p.pid).join(',');
    return internalRecord(
      'probe',
      ['(process table)', what(ctx)],
      procs.length > 0,
      procs.length > 0 ? `running as pid ${pids}` : `no process found by ${what(ctx)}`,
      started,
    );
  }

  private async signalStop(ctx: StrategyContext): Promise<CommandRecord> {
    const started = Date.now();
    const procs = await findServiceProcesses(ctx);
    const grace = Math.max(0, Math.min(ctx.service.stopTimeoutMs, ctx.deadline.remaining()));
    const { killed, survivors, denied } = await terminate(procs, grace);
    const ok = survivors.length === 0;
    const uid = process.getuid?.() ?? -1;
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
          ? `no running process found by ${what(ctx)}`
          : `stopped pid ${procs.map((p) => p.pid).join(',')}${killed.length ? `; SIGKILL after ${grace} ms: ${killed.join(',')}` : ''}`,
      error: ok
        ? ''
        : denied.length > 0
          ? `not permitted to signal pid ${denied.join(',')} (EPERM: the agent runs as uid ${uid}; see docs/agent-privileges.md)`
          : `pid ${survivors.join(',')} survived SIGKILL`,
    };
  }

  /**
   * Starts argv in its own session with stdout/stderr on a log file. The file
   * descriptor goes to the child directly: a pipe through the agent would
   * make the service die with the agent.
   */
  private async spawnDetached(argv: string[], ctx: StrategyContext): Promise<CommandRecord> {
    const started = Date.now();
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
        // As the service's user when set; the log stays the agent's (it only passes the descriptor).
        ...runAsSpawnOptions(resolveRunAs(ctx.service), ctx.env),
        ...(ctx.service.workingDir ? { cwd: ctx.service.workingDir } : {}),
      });
    } catch (err) {
      return fail(-1, `start command could not be run: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
    // Either it fails at once (bad path, bad flag, exits non-zero) or it is left to run.
    const byName = isExactNameCheck(ctx.service.healthCheckCommand) && !ctx.service.pidfile;
    let seenByName = false;
    const early = await new Promise<{ code: number | null; signal: string | null; error?: Error } | null>((resolve) => {
      const timers: NodeJS.Timeout[] = [];
      const done = (v: { code: number | null; signal: string | null; error?: Error } | null) => {
        for (const t of timers) clearTimeout(t);
        resolve(v);
      };
      timers.push(setTimeout(() => done(null), EARLY_EXIT_WATCH_MS));
      if (byName && child.pid) {
        const poll = () => {
          if (commOf(child.pid!) === commForName(ctx.service.name)) {
            seenByName = true;
            done(null);
          } else timers.push(setTimeout(poll, EARLY_NAME_POLL_MS));
        };
        timers.push(setTimeout(poll, 0));
      }
      child.once('error', (error) => done({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => done({ code, signal }));
    });
    child.unref();
    // A start command that is already done may have left a daemon behind: the next lookup reads /proc again.
    if (early) invalidateProcessTable();
    else if (child.pid) noteStarted(child.pid);
    if (early === null && child.pid && (this.opts.onExit || this.opts.started)) {
      const pid = child.pid;
      const { onExit, started } = this.opts;
      if (seenByName) started?.add(ctx.service.name, pid);
      // The agent is this process's parent: its death is known at once, no polling needed.
      child.once('exit', (code, signal) => {
        started?.remove(ctx.service.name, pid);
        onExit?.(ctx.service.name, pid, code, signal);
      });
    }
    if (early?.error) return fail(-1, `start command could not be run: ${(early.error as NodeJS.ErrnoException).code ?? early.error.message}`);
    if (early && early.code !== 0) {
      return fail(early.code ?? -1, early.signal ? `start command killed by ${early.signal}` : `start command exited ${early.code}`);
    }
    const pid = child.pid ?? 0;
    return {
      ...base,
      exitCode: 0,
      ok: true,
      durationMs: Date.now() - started,
      outputTail: early
        ? 'start command exited 0'
        : `running as pid ${pid}${isAlive(pid) ? '' : ' (already gone)'}${seenByName ? ' under its name' : ''}; output in ${logPath}`,
      error: '',
    };
  }
}

/** The kernel's comm of a process (15 bytes at most), or null when it is gone. */
function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return null;
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
