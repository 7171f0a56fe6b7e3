import type { RestartStrategy } from './restart-strategy.js';
import type { CommandRecord } from '../exec/run-command.js';
import { assertUp, checkHealth, retryCheck } from './checks.js';
import { describeRecord, lastLine, runHook, type OperationContext } from './operation-context.js';
import { deadlineMessage, type OperationResult } from './operation-result.js';
import { startService, stopService } from './start-stop.js';

/** Versions the controller may send: what package managers and semver use, nothing a shell would act on. */
export const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._+:~-]{0,127}$/;

/**
 * Made on first use: a collator maps about 2 MiB of ICU data into the
 * process, which an agent that never updates anything should not carry.
 */
let versionOrder: Intl.Collator | undefined;

/**
 * Whether `target` is older than `installed`, by natural order (1.9 < 1.10 <
 * 2.0). `installed` is version_command's last line, which may say more than
 * the bare version ("app 2.0"); its first version-looking word is compared.
 */
export function isDowngrade(installed: string, target: string): boolean {
  const current = /[0-9][A-Za-z0-9._+:~-]*/.exec(installed)?.[0];
  if (current === undefined || current === target) return false;
  versionOrder ??= new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
  return versionOrder.compare(target, current) < 0;
}

/** version_command's answer: its last non-empty output line (128 characters at most). */
export async function readVersion(ctx: OperationContext): Promise<{ version: string; steps: CommandRecord[]; ok: boolean }> {
  if (ctx.service.versionCommand.length === 0) return { version: '', steps: [], ok: true };
  const steps = await runHook(ctx, 'version', ctx.service.versionCommand);
  const last = steps.at(-1)!;
  return { version: last.ok ? lastLine(last.outputTail).slice(0, 128) : '', steps, ok: last.ok };
}

/** seed 003 Status: assertServiceIsUp. Up is SUCCEEDED, down is FAILED; the version when version_command is set. */
export async function statusService(strategy: RestartStrategy, ctx: OperationContext): Promise<OperationResult> {
  const up = await assertUp(ctx, strategy);
  const v = await readVersion(ctx);
  const steps = [...up.steps, ...v.steps];
  const version = v.version ? `, version ${v.version}` : '';
  const why = up.steps.at(-1);
  return {
    ok: up.ok,
    message: up.ok ? `up${version}` : `down (${why ? describeRecord(why) : 'no check'})${version}`,
    strategy: 'lifecycle',
    attempts: 0,
    steps,
    version: v.version,
  };
}

/**
 * seed 003 Update: Stop, install, configure, Start, then the health check
 * and version_command. The version reaches every hook as SMGR_VERSION. When
 * install or configure fails, the service is started again (on what is
 * installed now) so that a failed update does not leave it down.
 */
export async function updateService(strategy: RestartStrategy, ctx: OperationContext, version: string): Promise<OperationResult> {
  const steps: CommandRecord[] = [];
  const fail = (message: string, used = strategy.name): OperationResult => ({ ok: false, message, strategy: used, attempts: 1, steps });

  if (!ctx.service.allowDowngrade && ctx.service.versionCommand.length > 0) {
    const installed = await readVersion(ctx);
    steps.push(...installed.steps);
    if (installed.version !== '' && isDowngrade(installed.version, version)) {
      return {
        ...fail(
          `update to ${version} refused: it is older than the installed ${installed.version}; set [process.${ctx.service.name}] allow_downgrade = true in this agent's config to allow downgrades (and rollbacks)`,
        ),
        version: installed.version,
      };
    }
  }

  const stop = await stopService(strategy, ctx);
  steps.push(...stop.steps);
  if (!stop.ok) return fail(`update to ${version} aborted, nothing installed: ${stop.message}`, stop.strategy);

  for (const [name, hook] of [
    ['install', ctx.service.installCommand],
    ['configure', ctx.service.configureCommand],
  ] as const) {
    if (hook.length === 0) continue;
    const records = await runHook(ctx, name, hook);
    steps.push(...records);
    const last = records.at(-1)!;
    if (!last.ok) {
      const out = lastLine(last.outputTail);
      const why = `${name} of ${version} failed (${describeRecord(last)})${out ? `: ${out}` : ''}`;
      if (ctx.deadline.expired()) return fail(`${why}; ${deadlineMessage(ctx, name)}; the service is left stopped`);
      const back = await startService(strategy, ctx);
      steps.push(...back.steps);
      return fail(
        `${why}; ${back.ok ? 'the service was started again on the previous installation' : `starting it again failed too: ${back.message}`}`,
        back.strategy,
      );
    }
  }

  const start = await startService(strategy, ctx);
  steps.push(...start.steps);
  if (!start.ok) return fail(`update to ${version} installed but the service did not start: ${start.message}`, start.strategy);
  const health = await retryCheck(ctx, (limit) => checkHealth(ctx, strategy, 'health_check', limit));
  steps.push(...health.steps);
  if (!health.ok) return fail(`update to ${version}: health check failed (${describeRecord(health.steps.at(-1)!)})`, start.strategy);
  const v = await readVersion(ctx);
  steps.push(...v.steps);
  if (ctx.service.versionCommand.length > 0 && !v.version.includes(version)) {
    return {
      ...fail(`update to ${version}: version_command reports ${JSON.stringify(v.version || describeRecord(v.steps.at(-1)!))}`, start.strategy),
      version: v.version,
    };
  }
  return { ok: true, message: `updated to ${version}; ${start.message}`, strategy: start.strategy, attempts: 1, steps, version: v.version || version };
}
