import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { checkUnitName, type ServiceAction, type ServiceManager } from './service-manager.js';

export interface SysvManagerOptions {
  /** Path of `service` (Debian init-system-helpers, RHEL initscripts); null: call the init script itself. */
  serviceBin: string | null;
  initDir?: string;
  /** Prefix of every argv, e.g. ['sudo', '-n'] for an agent that is not root. */
  prefix?: readonly string[];
}

/**
 * SysV init scripts, through `service NAME ACTION` when `service` exists (it
 * gives the script a clean environment, as at boot), else by running
 * /etc/init.d/NAME ACTION directly. `status` follows LSB: exit 0 = running.
 */
export class SysvManager implements ServiceManager {
  readonly name = 'sysv' as const;
  private readonly initDir: string;

  constructor(private readonly opts: SysvManagerOptions) {
    this.initDir = opts.initDir ?? '/etc/init.d';
  }

  argv(action: ServiceAction, unit: string): string[] {
    const cmd = this.opts.serviceBin ? [this.opts.serviceBin, unit, action] : [join(this.initDir, unit), action];
    return [...(this.opts.prefix ?? []), ...cmd];
  }

  async hasUnit(unit: string): Promise<boolean> {
    if (checkUnitName(unit)) return false;
    try {
      accessSync(join(this.initDir, unit), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
}
