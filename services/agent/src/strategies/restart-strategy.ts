import type { ProcessConfig } from '@smgr/shared';
import type { CommandRecord } from '../exec/run-command.js';

/** What a strategy reports for one stop+start. */
export interface StrategyResult {
  ok: boolean;
  message: string;
  steps: CommandRecord[];
}

/** Context every strategy gets: the service's effective config and agent-wide limits. */
export interface StrategyContext {
  service: ProcessConfig;
  tailBytes: number;
  stateDir: string;
  /** Environment for hooks (SMGR_SERVICE, SMGR_VERSION, the service's env list). */
  env: Record<string, string>;
}

/**
 * One way of bringing a service back: stop what runs and start it again.
 * Health checking, pre-restart gates and attempts are the caller's; a
 * strategy does a single stop+start.
 */
export interface RestartStrategy {
  readonly name: string;
  restart(ctx: StrategyContext): Promise<StrategyResult>;
}
