import { findServiceProcesses } from '../exec/process-table.js';
import type { RestartStrategy } from './restart-strategy.js';
import type { CommandRecord } from '../exec/run-command.js';
import { checkHealth, retryCheck } from './checks.js';
import { describeRecord, lastLine, runHook, type OperationContext } from './operation-context.js';
import { deadlineMessage, type OperationResult } from './operation-result.js';

/**
 * The repair algorithm of seed 002: a pre-restart gate that, when it fails,
 * leaves everything running; then up to `max_attempts` stop+start cycles by
 * the service's strategy, each verified by the health check (retried until
 * health_check_timeout), `restart_delay` apart, all within the deadline.
 */
export async function restartService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  const s = ctx.service;
  const steps: CommandRecord[] = [];
  if (s.preRestartCommand.length > 0) {
    const gate = await runHook(ctx, 'pre_restart', s.preRestartCommand);
    steps.push(...gate);
    const last = gate.at(-1)!;
    if (!last.ok) {
      const out = lastLine(last.outputTail);
      return {
        ok: false,
        message: `pre-restart check failed (${describeRecord(last)})${out ? `: ${out}` : ''}; nothing was stopped`,
        strategy: strategy.name,
        attempts: 0,
        steps,
      };
    }
  }
  const pidsBefore = (await findServiceProcesses(ctx)).map((p) => p.pid);
  let failure = '';
  let used = strategy.name;
  let attempt = 0;
  while (attempt < s.maxAttempts) {
    attempt++;
    const r = await strategy.restart(ctx);
    steps.push(...r.steps);
    used = r.strategy;
    if (r.ok) {
      const health = await retryCheck(ctx, (limit) => checkHealth(ctx, strategy, 'health_check', limit));
      steps.push(...health.steps);
      if (health.ok) {
        const pidsAfter = (await findServiceProcesses(ctx)).map((p) => p.pid);
        const pidText = `pid ${pidsBefore.join(',') || 'none'} -> ${pidsAfter.join(',') || '?'}`;
        const via = r.message.includes('(auto: ') ? ` ${r.message.slice(r.message.indexOf('(auto: '))}` : '';
        return {
          ok: true,
          message: `restarted by ${r.strategy} strategy (${pidText}), attempt ${attempt}${via}`,
          strategy: r.strategy,
          attempts: attempt,
          steps,
        };
      }
      failure = `health check failed (${describeRecord(health.steps.at(-1)!)}, ${health.tries} ${health.tries === 1 ? 'try' : 'tries'})`;
    } else {
      failure = r.message;
    }
    if (ctx.deadline.expired()) {
      return { ok: false, message: `${failure}; ${deadlineMessage(ctx, `attempt ${attempt}`)}`, strategy: used, attempts: attempt, steps };
    }
    if (attempt < s.maxAttempts && !(await ctx.deadline.sleep(s.restartDelayMs))) {
      return { ok: false, message: `${failure}; ${deadlineMessage(ctx, 'restart_delay')}`, strategy: used, attempts: attempt, steps };
    }
  }
  return {
    ok: false,
    message: `${failure} after ${attempt} attempt${attempt === 1 ? '' : 's'}`,
    strategy: used,
    attempts: attempt,
    steps,
  };
}
