import type { RestartStrategy } from './restart-strategy.js';
import type { CommandRecord } from '../exec/run-command.js';
import { findServiceProcesses } from '../exec/process-table.js';
import { assertDown, assertUp, retryCheck } from './checks.js';
import { describeRecord, type OperationContext } from './operation-context.js';
import { deadlineMessage, type OperationResult } from './operation-result.js';

const lastFailure = (steps: CommandRecord[]) => {
  const last = steps.at(-1);
  return last ? describeRecord(last) : 'no check ran';
};

/**
 * seed 003 Start: assertServiceIsUp; on failure (the error handler)
 * startService, then assertServiceIsUp again, retried until
 * health_check_timeout because a service takes time to come up.
 */
export async function startService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  const before = await assertUp(ctx, strategy);
  const steps = [...before.steps];
  if (before.ok) return { ok: true, message: 'already up; nothing started', strategy: 'lifecycle', attempts: 0, steps };
  if (ctx.deadline.expired()) return { ok: false, message: deadlineMessage(ctx, 'assert_up'), strategy: strategy.name, attempts: 0, steps };
  const start = await strategy.start(ctx);
  steps.push(...start.steps);
  if (!start.ok) return { ok: false, message: `start failed: ${start.message}`, strategy: start.strategy, attempts: 1, steps };
  const after = await retryCheck(ctx, (limit) => assertUp(ctx, strategy, limit));
  steps.push(...after.steps);
  if (!after.ok) {
    return {
      ok: false,
      message: `started by ${start.strategy} strategy but not up after ${after.tries} ${after.tries === 1 ? 'check' : 'checks'} (${lastFailure(after.steps)})`,
      strategy: start.strategy,
      attempts: 1,
      steps,
    };
  }
  const pids = (await findServiceProcesses(ctx)).map((p) => p.pid);
  return {
    ok: true,
    message: `started by ${start.strategy} strategy${pids.length ? ` (pid ${pids.join(',')})` : ''}`,
    strategy: start.strategy,
    attempts: 1,
    steps,
  };
}

/**
 * seed 003 Stop: assertServiceIsDown; on failure stopService, then
 * assertServiceIsDown again, retried until health_check_timeout.
 */
export async function stopService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  const before = await assertDown(ctx, strategy);
  const steps = [...before.steps];
  if (before.ok) return { ok: true, message: 'already down; nothing stopped', strategy: 'lifecycle', attempts: 0, steps };
  if (ctx.deadline.expired()) return { ok: false, message: deadlineMessage(ctx, 'assert_down'), strategy: strategy.name, attempts: 0, steps };
  const stop = await strategy.stop(ctx);
  steps.push(...stop.steps);
  if (!stop.ok) return { ok: false, message: `stop failed: ${stop.message}`, strategy: stop.strategy, attempts: 1, steps };
  const after = await retryCheck(ctx, (limit) => assertDown(ctx, strategy, limit));
  steps.push(...after.steps);
  if (!after.ok) {
    return {
      ok: false,
      message: `stopped by ${stop.strategy} strategy but still up after ${after.tries} ${after.tries === 1 ? 'check' : 'checks'}`,
      strategy: stop.strategy,
      attempts: 1,
      steps,
    };
  }
  return { ok: true, message: `stopped by ${stop.strategy} strategy`, strategy: stop.strategy, attempts: 1, steps };
}
