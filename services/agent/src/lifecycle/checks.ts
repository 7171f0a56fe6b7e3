import type { CommandList } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';
import type { ProcessNames } from '../exec/process-names.js';
import { invalidateProcessTable, sharedProcessNames } from '../exec/process-table.js';
import type { RestartStrategy } from './restart-strategy.js';
import { internalRecord, runHook, type OperationContext } from './operation-context.js';

/** The outcome of a check: ok, and the records of the commands that decided it. */
export interface CheckResult {
  ok: boolean;
  steps: CommandRecord[];
}

const named = (r: CommandRecord, name: string): CommandRecord => ({ ...r, name });

/** The built-in health check, `pgrep -x -- %s`: "a process with exactly this name runs". */
const PGREP_EXACT = ['pgrep', '-x', '--', '%s'];

/** True when a hook is exactly the built-in `pgrep -x -- %s`, which the agent answers from /proc itself. */
export function isExactNameCheck(hook: CommandList): boolean {
  return hook.length === 1 && hook[0]!.length === PGREP_EXACT.length && hook[0]!.every((a, i) => a === PGREP_EXACT[i]);
}

/**
 * `pgrep -x -- NAME` answered from a /proc snapshot instead of a pgrep
 * process: on a host with a few hundred processes pgrep costs ~15 ms of CPU
 * per check, a shared snapshot ~3 ms per watch round for every service.
 * Operations answer it from the shared process-table view (a burst of
 * repairs shares one pass over /proc); a watch round passes its own capture.
 */
export function exactNameCheck(ctx: OperationContext, name: string, names: ProcessNames = sharedProcessNames()): CommandRecord {
  const started = Date.now();
  const pids = names.pidsNamed(ctx.service.name);
  return internalRecord(
    name,
    ['(process table)', 'pgrep -x --', ctx.service.name],
    pids.length > 0,
    pids.length > 0 ? `running as pid ${pids.join(',')}` : `no process named ${ctx.service.name}`,
    started,
  );
}

/**
 * Health: health_check_command (alternatives: any passing one is healthy);
 * when none is configured, the strategy's own probe (process table or
 * `systemctl is-active` / `service NAME status`). The built-in
 * `pgrep -x -- %s` is answered from /proc (`names`, when the caller has a
 * snapshot to share: a watch round).
 */
export async function checkHealth(
  ctx: OperationContext,
  strategy: RestartStrategy,
  name = 'health_check',
  limitMs?: number,
  names?: () => ProcessNames,
): Promise<CheckResult> {
  if (isExactNameCheck(ctx.service.healthCheckCommand)) {
    let r = exactNameCheck(ctx, name, names ? names() : sharedProcessNames());
    // The shared view may be a moment old: "not running" is confirmed from /proc as it is now (a new view).
    if (!r.ok && !names) {
      invalidateProcessTable();
      r = exactNameCheck(ctx, name, sharedProcessNames());
    }
    return { ok: r.ok, steps: [r] };
  }
  if (ctx.service.healthCheckCommand.length > 0) {
    const steps = await runHook(ctx, name, ctx.service.healthCheckCommand, limitMs);
    return { ok: steps.at(-1)?.ok ?? false, steps };
  }
  const probe = named(await strategy.probe(ctx), name);
  return { ok: probe.ok, steps: [probe] };
}

/** seed 003 assertServiceIsUp: assert_up_command, else the health check. */
export async function assertUp(ctx: OperationContext, strategy: RestartStrategy, limitMs?: number): Promise<CheckResult> {
  if (ctx.service.assertUpCommand.length > 0) {
    const steps = await runHook(ctx, 'assert_up', ctx.service.assertUpCommand, limitMs);
    return { ok: steps.at(-1)?.ok ?? false, steps };
  }
  return checkHealth(ctx, strategy, 'assert_up', limitMs);
}

/** seed 003 assertServiceIsDown: assert_down_command, else "assert_up fails". */
export async function assertDown(ctx: OperationContext, strategy: RestartStrategy, limitMs?: number): Promise<CheckResult> {
  if (ctx.service.assertDownCommand.length > 0) {
    const steps = await runHook(ctx, 'assert_down', ctx.service.assertDownCommand, limitMs);
    return { ok: steps.at(-1)?.ok ?? false, steps };
  }
  const up = await assertUp(ctx, strategy, limitMs);
  // The up check's own records, renamed and inverted, so a reader sees why "down" was concluded.
  const steps = up.steps.map((s) => ({
    ...s,
    name: 'assert_down',
    ok: !up.ok,
    outputTail: `${up.ok ? 'up' : 'down'} (inverted ${s.name}); ${s.outputTail}`.slice(0, Math.max(ctx.tailBytes, 64)),
  }));
  return { ok: !up.ok, steps };
}

/**
 * Repeats a check every health_check_interval until it passes or `timeoutMs`
 * (health_check_timeout, cut to the operation deadline) is spent; each try
 * gets at most the time that is left (and at least 100 ms). Returns the last
 * try's records, with the number of tries in front of their output.
 */
export async function retryCheck(
  ctx: OperationContext,
  check: (limitMs: number) => Promise<CheckResult>,
  timeoutMs = ctx.service.healthCheckTimeoutMs,
): Promise<CheckResult & { tries: number }> {
  const until = Date.now() + ctx.deadline.cap(timeoutMs);
  let tries = 0;
  for (;;) {
    tries++;
    const r = await check(Math.max(100, Math.min(ctx.service.commandTimeoutMs, until - Date.now())));
    if (r.ok || Date.now() + ctx.service.healthCheckIntervalMs >= until || !(await ctx.deadline.sleep(ctx.service.healthCheckIntervalMs))) {
      const steps = r.steps.map((s, i) =>
        i === r.steps.length - 1 && tries > 1 ? { ...s, outputTail: `${tries} tries; ${s.outputTail}`.slice(-Math.max(ctx.tailBytes, 64)) } : s,
      );
      return { ok: r.ok, steps, tries };
    }
  }
}
