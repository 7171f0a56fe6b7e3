import type { ServiceAction } from '@smgr/shared';
import { describeRecord, lastLine, runStep, type OperationContext } from './operation-context.js';
import type { OperationResult } from './operation-result.js';

/**
 * ACTION: one named command from the service's own config (`action[] =
 * NAME: command`), run like every other hook (argv, %s, user, env,
 * working_dir, command_timeout within the operation's deadline). The
 * controller only names it; an undefined name is refused before this.
 */
export async function runAction(ctx: OperationContext, action: ServiceAction): Promise<OperationResult> {
  const r = await runStep(ctx, `action:${action.name}`, action.command);
  const message = r.ok
    ? `action ${action.name} done${lastLine(r.outputTail) ? `: ${lastLine(r.outputTail)}` : ''}`
    : `action ${action.name} failed: ${describeRecord(r)}${lastLine(r.outputTail) ? ` (${lastLine(r.outputTail)})` : ''}`;
  return { ok: r.ok, message, strategy: 'action', attempts: 1, steps: [r] };
}
