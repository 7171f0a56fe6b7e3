import type { RestartStrategy } from './restart-strategy.js';
import type { CommandRecord } from '../exec/run-command.js';
import { findServiceProcesses } from '../exec/process-table.js';
import { assertDown, assertUp, retryCheck, type CheckResult } from './checks.js';
import { describeRecord, type OperationContext } from './operation-context.js';
import { deadlineMessage, type OperationResult } from './operation-result.js';

const lastFailure = (steps: CommandRecord[]) => {
  const last = steps.at(-1);
  return last ? describeRecord(last) : 'no check ran';
};

const checks = (n: number) => `${n} ${n === 1 ? 'check' : 'checks'}`;

/** One direction of seed 003's Start/Stop: the state asserted, the strategy's action and the words for each outcome. */
interface Transition {
  /** The assertion's step name, for the deadline message: assert_up or assert_down. */
  step: string;
  assert: (ctx: OperationContext, strategy: RestartStrategy, limitMs?: number) => Promise<CheckResult>;
  act: 'start' | 'stop';
  /** The message when the assertion already holds and nothing is done. */
  already: string;
  /** The message when the action succeeded but the assertion still fails after its retries. */
  notReached: (by: string, after: CheckResult & { tries: number }) => string;
  /** The message when it holds after the action. */
  done: (by: string, ctx: OperationContext) => Promise<string>;
}

/**
 * The assertion; when it fails (seed 003's error handler) the strategy's
 * action, then the assertion again, retried until health_check_timeout
 * because a service takes time to come up or go down.
 */
async function transition(t: Transition, strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  const before = await t.assert(ctx, strategy);
  const steps = [...before.steps];
  if (before.ok) return { ok: true, message: t.already, strategy: 'lifecycle', attempts: 0, steps };
  if (ctx.deadline.expired()) return { ok: false, message: deadlineMessage(ctx, t.step), strategy: strategy.name, attempts: 0, steps };
  const acted = await strategy[t.act](ctx);
  steps.push(...acted.steps);
  const by = acted.strategy;
  if (!acted.ok) return { ok: false, message: `${t.act} failed: ${acted.message}`, strategy: by, attempts: 1, steps };
  const after = await retryCheck(ctx, (limit) => t.assert(ctx, strategy, limit));
  steps.push(...after.steps);
  const message = after.ok ? await t.done(by, ctx) : t.notReached(by, after);
  return { ok: after.ok, message, strategy: by, attempts: 1, steps };
}

const START: Transition = {
  step: 'assert_up',
  assert: assertUp,
  act: 'start',
  already: 'already up; nothing started',
  notReached: (by, after) => `started by ${by} strategy but not up after ${checks(after.tries)} (${lastFailure(after.steps)})`,
  done: async (by, ctx) => {
    const pids = (await findServiceProcesses(ctx)).map((p) => p.pid);
    return `started by ${by} strategy${pids.length ? ` (pid ${pids.join(',')})` : ''}`;
  },
};

const STOP: Transition = {
  step: 'assert_down',
  assert: assertDown,
  act: 'stop',
  already: 'already down; nothing stopped',
  notReached: (by, after) => `stopped by ${by} strategy but still up after ${checks(after.tries)}`,
  done: async (by) => `stopped by ${by} strategy`,
};

/**
 * seed 003 Start: assertServiceIsUp; on failure (the error handler)
 * startService, then assertServiceIsUp again, retried until
 * health_check_timeout because a service takes time to come up.
 */
export function startService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  return transition(START, strategy, ctx);
}

/**
 * seed 003 Stop: assertServiceIsDown; on failure stopService, then
 * assertServiceIsDown again, retried until health_check_timeout.
 */
export function stopService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  return transition(STOP, strategy, ctx);
}
