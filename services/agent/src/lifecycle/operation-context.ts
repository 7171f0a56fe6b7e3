import { expandArgv, type CommandList, type ProcessConfig } from '@smgr/shared';
import { resolveRunAs, type RunAs } from '../exec/run-as.js';
import { notRun, runCommand, type CommandRecord } from '../exec/run-command.js';
import { invalidateProcessTable } from '../exec/process-table.js';
import type { Deadline } from './deadline.js';

/** What every step of one operation on one service shares. */
export interface OperationContext {
  /** The service's effective config ([process.NAME] over [process.default]). */
  service: ProcessConfig;
  tailBytes: number;
  stateDir: string;
  /** Environment of hooks: the agent's, the service's env list, SMGR_SERVICE, SMGR_VERSION. */
  env: Record<string, string>;
  deadline: Deadline;
}

/**
 * Runs one command of the operation: `%s` becomes the service name (one argv
 * element), the time limit is command_timeout cut to what the operation has
 * left, and on that limit the command's whole process tree is killed.
 */
export function runStep(ctx: OperationContext, name: string, argv: readonly string[], limitMs = ctx.service.commandTimeoutMs): Promise<CommandRecord> {
  const expanded = expandArgv(argv, { name: ctx.service.name });
  const timeoutMs = ctx.deadline.cap(limitMs);
  if (timeoutMs <= 0) return Promise.resolve(notRun(name, expanded, `operation deadline of ${ctx.deadline.totalMs} ms reached before ${name}`));
  let runAs: RunAs | undefined;
  try {
    // Checked at start-up; looked up again here, since users may change.
    runAs = resolveRunAs(ctx.service);
  } catch (err) {
    return Promise.resolve(notRun(name, expanded, (err as Error).message));
  }
  return runCommand(expanded, {
    name,
    timeoutMs,
    tailBytes: ctx.tailBytes,
    env: ctx.env,
    ...(ctx.service.workingDir ? { cwd: ctx.service.workingDir } : {}),
    ...(runAs ? { runAs } : {}),
  });
}

/**
 * Runs a hook's alternatives in order until one succeeds (seed 003's
 * error-handler fallback, e.g. Tomcat: shutdown port, then shutdown script).
 * Returns every record; the hook succeeded when the last one is ok.
 */
export async function runHook(ctx: OperationContext, name: string, hook: CommandList, limitMs?: number): Promise<CommandRecord[]> {
  const records: CommandRecord[] = [];
  for (const cmd of hook) {
    const r = await runStep(ctx, name, cmd, limitMs);
    records.push(r);
    if (r.ok || ctx.deadline.expired()) break;
  }
  // A hook may have started or stopped processes the agent does not know of.
  invalidateProcessTable();
  return records;
}

/** "exit 1", "timed out", "killed by SIGKILL" or the spawn error. */
export const describeRecord = (r: CommandRecord): string => r.error || (r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`);

/** The last non-empty output line, cut for a one-line message. */
export const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.trim().slice(0, 120) ?? '';

/** A synthetic record for a step the agent did itself (a process-table check, a signal). */
export function internalRecord(name: string, argv: string[], ok: boolean, outputTail: string, started: number, error = ''): CommandRecord {
  return { name, argv, exitCode: ok ? 0 : 1, signal: '', ok, timedOut: false, startedAtMs: started, durationMs: Date.now() - started, outputTail, error };
}
