import { expandArgv, type CommandList } from '@smgr/shared';
import { runCommand, type CommandRecord } from '../exec/run-command.js';
import { sleep } from '../exec/process-table.js';
import type { RestartStrategy, StrategyContext } from '../strategies/restart-strategy.js';
import { findServiceProcesses } from '../strategies/process-strategy.js';

export interface OperationResult {
  ok: boolean;
  message: string;
  strategy: string;
  attempts: number;
  steps: CommandRecord[];
}

/** Runs a hook's alternatives in order until one succeeds (seed 003's error-handler fallback). */
export async function runHook(name: string, hook: CommandList, ctx: StrategyContext, timeoutMs: number): Promise<CommandRecord[]> {
  const records: CommandRecord[] = [];
  for (const cmd of hook) {
    const r = await runCommand(expandArgv(cmd, { name: ctx.service.name }), {
      name,
      timeoutMs,
      tailBytes: ctx.tailBytes,
      env: ctx.env,
      ...(ctx.service.workingDir ? { cwd: ctx.service.workingDir } : {}),
    });
    records.push(r);
    if (r.ok) break;
  }
  return records;
}

/**
 * Retries the health check until it passes or `health_check_timeout` is
 * spent. Each try gets at most the time that is left.
 */
export async function healthCheck(ctx: StrategyContext): Promise<CommandRecord> {
  const s = ctx.service;
  const deadline = Date.now() + s.healthCheckTimeoutMs;
  let last: CommandRecord | null = null;
  let tries = 0;
  for (;;) {
    tries++;
    const left = Math.max(100, Math.min(s.commandTimeoutMs, deadline - Date.now()));
    const records = await runHook('health_check', s.healthCheckCommand, ctx, left);
    last = records.at(-1) ?? null;
    if (!last || last.ok || Date.now() + s.healthCheckIntervalMs >= deadline) break;
    await sleep(s.healthCheckIntervalMs);
  }
  if (!last) {
    return { name: 'health_check', argv: [], exitCode: 0, signal: '', ok: true, timedOut: false, startedAtMs: Date.now(), durationMs: 0, outputTail: 'no health check configured', error: '' };
  }
  return { ...last, outputTail: `${tries} tries; ${last.outputTail}`.slice(-ctx.tailBytes) };
}

const describe = (r: CommandRecord) =>
  r.error || (r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`);

const lastLine = (text: string) => text.trim().split('\n').at(-1)?.slice(0, 120) ?? '';

/**
 * The repair algorithm of seed 002: a pre-restart gate that, when it fails,
 * leaves everything running; then up to `max_attempts` stop+start cycles,
 * each verified by the health check, `restart_delay` apart.
 */
export async function restartService(strategy: RestartStrategy, ctx: StrategyContext): Promise<OperationResult> {
  const s = ctx.service;
  const steps: CommandRecord[] = [];
  if (s.preRestartCommand.length > 0) {
    const gate = await runHook('pre_restart', s.preRestartCommand, ctx, s.commandTimeoutMs);
    steps.push(...gate);
    const last = gate.at(-1)!;
    if (!last.ok) {
      const out = lastLine(last.outputTail);
      return {
        ok: false,
        message: `pre-restart check failed (${describe(last)})${out ? `: ${out}` : ''}; nothing was stopped`,
        strategy: strategy.name,
        attempts: 0,
        steps,
      };
    }
  }
  const pidsBefore = (await findServiceProcesses(ctx)).map((p) => p.pid);
  let failure = '';
  for (let attempt = 1; attempt <= s.maxAttempts; attempt++) {
    const r = await strategy.restart(ctx);
    steps.push(...r.steps);
    if (r.ok) {
      const health = await healthCheck(ctx);
      steps.push(health);
      if (health.ok) {
        const pidsAfter = (await findServiceProcesses(ctx)).map((p) => p.pid);
        const pidText = `pid ${pidsBefore.join(',') || 'none'} -> ${pidsAfter.join(',') || '?'}`;
        return {
          ok: true,
          message: `restarted by ${strategy.name} strategy (${pidText}), attempt ${attempt}`,
          strategy: strategy.name,
          attempts: attempt,
          steps,
        };
      }
      failure = `health check failed (${describe(health)})`;
    } else {
      failure = r.message;
    }
    if (attempt < s.maxAttempts) await sleep(s.restartDelayMs);
  }
  return {
    ok: false,
    message: `${failure} after ${s.maxAttempts} attempt${s.maxAttempts === 1 ? '' : 's'}`,
    strategy: strategy.name,
    attempts: s.maxAttempts,
    steps,
  };
}
