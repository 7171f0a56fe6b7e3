import type { CommandRecord } from '../exec/run-command.js';
import type { OperationContext } from './operation-context.js';

/** Strategies see the operation's context: service config, limits, env, deadline. */
export type StrategyContext = OperationContext;

/** What a strategy reports for one start, stop or stop+start. */
export interface StrategyResult {
  ok: boolean;
  /** One line: what happened, or why it failed. */
  message: string;
  /** The strategy that did the work: "process" or "service" (auto says which of the two). */
  strategy: string;
  steps: CommandRecord[];
}

/**
 * One way of driving a service (seed 002): `process` signals and spawns it,
 * `service` asks the init system, `auto` tries service, then process.
 * Health checks, pre-restart gates, attempts and lifecycle asserts are the
 * caller's; a strategy does one start, one stop, or one stop+start.
 */
export interface RestartStrategy {
  readonly name: string;
  restart(ctx: StrategyContext): Promise<StrategyResult>;
  start(ctx: StrategyContext): Promise<StrategyResult>;
  stop(ctx: StrategyContext): Promise<StrategyResult>;
  /** The strategy's own "is it running?": the default when no assert or health command is set. */
  probe(ctx: StrategyContext): Promise<CommandRecord>;
}
