import type { CommandRecord } from '../exec/run-command.js';
import type { ProcessStrategy } from './process-strategy.js';
import type { RestartStrategy, StrategyContext, StrategyResult } from '../lifecycle/restart-strategy.js';
import { unitOf, type ServiceStrategy } from './service-strategy.js';

/**
 * Seed 002's "auto": the service manager when it has a unit for the service,
 * and the process strategy when it has none or when the service manager
 * fails. The result's `strategy` names the one that did the work and its
 * message says why the other was not used.
 */
export class AutoStrategy implements RestartStrategy {
  readonly name = 'auto';

  constructor(
    private readonly service: ServiceStrategy,
    private readonly process: ProcessStrategy,
  ) {}

  restart(ctx: StrategyContext): Promise<StrategyResult> {
    return this.either(ctx, (s) => s.restart(ctx));
  }

  start(ctx: StrategyContext): Promise<StrategyResult> {
    return this.either(ctx, (s) => s.start(ctx));
  }

  stop(ctx: StrategyContext): Promise<StrategyResult> {
    return this.either(ctx, (s) => s.stop(ctx));
  }

  async probe(ctx: StrategyContext): Promise<CommandRecord> {
    return (await this.service.applies(ctx)) ? this.service.probe(ctx) : this.process.probe(ctx);
  }

  private async either(ctx: StrategyContext, act: (s: RestartStrategy) => Promise<StrategyResult>): Promise<StrategyResult> {
    if (!(await this.service.applies(ctx))) {
      const r = await act(this.process);
      return { ...r, message: `${r.message} (auto: no service unit ${unitOf(ctx)}, used the process strategy)` };
    }
    const viaService = await act(this.service);
    if (viaService.ok) return viaService;
    const viaProcess = await act(this.process);
    return {
      ...viaProcess,
      message: `${viaProcess.message} (auto: ${viaService.message}; ${viaProcess.ok ? 'the process strategy worked' : 'the process strategy failed too'})`,
      steps: [...viaService.steps, ...viaProcess.steps],
    };
  }
}
