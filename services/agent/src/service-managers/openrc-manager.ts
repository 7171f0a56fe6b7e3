import { checkUnitName, type ProbeRunner, type ServiceAction, type ServiceManager } from './service-manager.js';

/**
 * OpenRC through `rc-service NAME ACTION`; `rc-service --exists NAME` says
 * whether the service is known. (`status` exits 0 only when started.)
 */
export class OpenRcManager implements ServiceManager {
  readonly name = 'openrc' as const;

  constructor(
    private readonly probe: ProbeRunner,
    private readonly prefix: readonly string[] = [],
    private readonly rcService = 'rc-service',
  ) {}

  argv(action: ServiceAction, unit: string): string[] {
    return [...this.prefix, this.rcService, unit, action];
  }

  async hasUnit(unit: string): Promise<boolean> {
    if (checkUnitName(unit)) return false;
    return (await this.probe([this.rcService, '--exists', unit])).ok;
  }
}
