import type { CommandRecord } from '../exec/run-command.js';
import { describeRecord, internalRecord, lastLine, runStep } from '../lifecycle/operation-context.js';
import { checkUnitName, type ServiceAction, type ServiceManager } from '../service-managers/service-manager.js';
import type { RestartStrategy, StrategyContext, StrategyResult } from '../lifecycle/restart-strategy.js';

/** The unit / init script of a service: service_name, else its NAME. */
export const unitOf = (ctx: Pick<StrategyContext, 'service'>): string => ctx.service.serviceName ?? ctx.service.name;

/**
 * Seed 002's "service" strategy: the host's service manager (systemd, SysV
 * or OpenRC) starts, stops and restarts the unit. start_command and
 * stop_command are not used here; they belong to the process strategy.
 */
export class ServiceStrategy implements RestartStrategy {
  readonly name = 'service';

  /** `manager` null: no service manager on this host (every action fails, saying so). */
  constructor(private readonly manager: ServiceManager | null) {}

  restart(ctx: StrategyContext): Promise<StrategyResult> {
    return this.act(ctx, 'restart');
  }

  start(ctx: StrategyContext): Promise<StrategyResult> {
    return this.act(ctx, 'start');
  }

  stop(ctx: StrategyContext): Promise<StrategyResult> {
    return this.act(ctx, 'stop');
  }

  async probe(ctx: StrategyContext): Promise<CommandRecord> {
    const bad = this.unusable(ctx);
    if (bad) return internalRecord('probe', [], false, '', Date.now(), bad);
    return runStep(ctx, 'probe', this.manager!.argv('status', unitOf(ctx)));
  }

  private async act(ctx: StrategyContext, action: ServiceAction): Promise<StrategyResult> {
    const bad = this.unusable(ctx);
    if (bad) {
      return { ok: false, message: bad, strategy: this.name, steps: [internalRecord(action, [], false, '', Date.now(), bad)] };
    }
    const r = await runStep(ctx, action, this.manager!.argv(action, unitOf(ctx)));
    const out = lastLine(r.outputTail);
    return {
      ok: r.ok,
      message: r.ok
        ? `${this.manager!.name} ${action} ${unitOf(ctx)}`
        : `${this.manager!.name} ${action} ${unitOf(ctx)} failed (${describeRecord(r)})${out ? `: ${out}` : ''}`,
      strategy: this.name,
      steps: [r],
    };
  }

  private unusable(ctx: StrategyContext): string | null {
    if (!this.manager) return `no service manager on this host for ${ctx.service.name} (service_manager = ${ctx.service.serviceManager})`;
    return checkUnitName(unitOf(ctx));
  }

  /** Whether the manager has this service's unit (auto's choice). */
  async applies(ctx: StrategyContext): Promise<boolean> {
    return this.manager !== null && (await this.manager.hasUnit(unitOf(ctx)));
  }
}
