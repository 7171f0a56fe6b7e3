import type { ProcessConfig } from '@smgr/shared';
import type { ServiceManagers } from '../service-managers/detect-service-manager.js';
import { AutoStrategy } from './auto-strategy.js';
import { ProcessStrategy, type ProcessStrategyOptions } from './process-strategy.js';
import type { RestartStrategy } from '../lifecycle/restart-strategy.js';
import { ServiceStrategy } from './service-strategy.js';
import { getOrCreate } from '../util/get-or-create.js';

/** Picks each service's strategy from its restart_strategy and service_manager settings. */
export class StrategyFactory {
  private readonly process: ProcessStrategy;
  private readonly cache = new Map<string, RestartStrategy>();

  constructor(
    private readonly managers: ServiceManagers,
    processOptions: ProcessStrategyOptions = {},
  ) {
    this.process = new ProcessStrategy(processOptions);
  }

  for(service: ProcessConfig): RestartStrategy {
    return getOrCreate(this.cache, `${service.restartStrategy}/${service.serviceManager}`, () => this.make(service));
  }

  private make(service: ProcessConfig): RestartStrategy {
    if (service.restartStrategy === 'process') return this.process;
    const viaManager = new ServiceStrategy(this.managers.get(service.serviceManager));
    return service.restartStrategy === 'service' ? viaManager : new AutoStrategy(viaManager, this.process);
  }
}
