import type { ProcessConfig } from '@smgr/shared';
import type { ServiceManagers } from '../service-managers/detect-service-manager.js';
import { AutoStrategy } from './auto-strategy.js';
import { ProcessStrategy, type ProcessStrategyOptions } from './process-strategy.js';
import type { RestartStrategy } from '../lifecycle/restart-strategy.js';
import { ServiceStrategy } from './service-strategy.js';

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
    const key = `${service.restartStrategy}/${service.serviceManager}`;
    let s = this.cache.get(key);
    if (!s) {
      s = this.make(service);
      this.cache.set(key, s);
    }
    return s;
  }

  private make(service: ProcessConfig): RestartStrategy {
    if (service.restartStrategy === 'process') return this.process;
    const viaManager = new ServiceStrategy(this.managers.get(service.serviceManager));
    return service.restartStrategy === 'service' ? viaManager : new AutoStrategy(viaManager, this.process);
  }
}
