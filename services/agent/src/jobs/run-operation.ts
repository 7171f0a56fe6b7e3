import { Operation, type ProcessConfig } from '@smgr/shared';
import { Deadline } from '../lifecycle/deadline.js';
import type { OperationContext } from '../lifecycle/operation-context.js';
import type { OperationResult } from '../lifecycle/operation-result.js';
import { restartService } from '../lifecycle/restart-operation.js';
import { startService, stopService } from '../lifecycle/start-stop.js';
import { statusService, updateService } from '../lifecycle/status-update.js';
import { runAction } from '../lifecycle/run-action.js';
import type { RestartStrategy } from '../lifecycle/restart-strategy.js';

/** The operations this agent runs on one service. */
export const SERVICE_OPERATIONS: ReadonlySet<Operation> = new Set([
  Operation.RESTART,
  Operation.START,
  Operation.STOP,
  Operation.STATUS,
  Operation.UPDATE,
  Operation.ACTION,
]);

/** The operations allowed on service "*" (every service, by startup_rank). */
export const ALL_SERVICES_OPERATIONS: ReadonlySet<Operation> = new Set([Operation.START, Operation.STOP, Operation.STATUS]);

export interface OperationInput {
  operation: Operation;
  service: ProcessConfig;
  strategy: RestartStrategy;
  /** UPDATE only; already validated. */
  version: string;
  /** ACTION only: the action's name, already checked against the service's actions. */
  action?: string;
  deadlineMs: number;
  tailBytes: number;
  stateDir: string;
}

/** Runs one lifecycle operation on one service within its deadline. Never throws. */
export async function runOperation(input: OperationInput): Promise<OperationResult> {
  const ctx: OperationContext = {
    service: input.service,
    tailBytes: input.tailBytes,
    stateDir: input.stateDir,
    env: buildEnv(input.service, input.operation === Operation.UPDATE ? input.version : '', input.operation === Operation.ACTION ? (input.action ?? '') : ''),
    deadline: new Deadline(input.deadlineMs),
  };
  try {
    switch (input.operation) {
      case Operation.RESTART:
        return await restartService(input.strategy, ctx);
      case Operation.START:
        return await startService(input.strategy, ctx);
      case Operation.STOP:
        return await stopService(input.strategy, ctx);
      case Operation.STATUS:
        return await statusService(input.strategy, ctx);
      case Operation.UPDATE:
        return await updateService(input.strategy, ctx, input.version);
      case Operation.ACTION: {
        const action = input.service.actions.find((a) => a.name === input.action);
        if (!action)
          return { ok: false, message: `action ${input.action ?? ''} is not defined for ${input.service.name}`, strategy: '', attempts: 0, steps: [] };
        return await runAction(ctx, action);
      }
      default:
        return { ok: false, message: `operation ${input.operation} is not supported`, strategy: '', attempts: 0, steps: [] };
    }
  } catch (err) {
    return { ok: false, message: `agent error: ${(err as Error).message}`, strategy: '', attempts: 0, steps: [] };
  }
}

/** Hooks see the agent's environment plus the service's env list, SMGR_SERVICE, (updates) SMGR_VERSION and (actions) SMGR_ACTION. */
export function buildEnv(service: ProcessConfig, version: string, action = ''): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const kv of service.env) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  env.SMGR_SERVICE = service.name;
  if (version) env.SMGR_VERSION = version;
  else delete env.SMGR_VERSION;
  if (action) env.SMGR_ACTION = action;
  else delete env.SMGR_ACTION;
  return env;
}
