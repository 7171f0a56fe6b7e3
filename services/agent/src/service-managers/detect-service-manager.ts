import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceManagerKind } from '@smgr/shared';
import type { ProbeRunner, ServiceManager, ServiceManagerName } from './service-manager.js';
import { SystemdManager } from './systemd-manager.js';
import { SysvManager } from './sysv-manager.js';
import { OpenRcManager } from './openrc-manager.js';
import { getOrCreate } from '../util/get-or-create.js';

/** What detection looks at on a host; injectable so detection is testable without that host. */
export interface HostProbe {
  exists(path: string): boolean;
  /** The executable's full path found on PATH (or in the sbin dirs), or null. */
  which(bin: string): string | null;
}

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The real host: the file system and PATH (plus the sbin dirs an unprivileged PATH lacks). */
export const realHost: HostProbe = {
  exists: (path) => existsSync(path),
  which(bin) {
    const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
    for (const dir of dirs) {
      try {
        accessSync(join(dir, bin), constants.X_OK);
        return join(dir, bin);
      } catch {
        // not here
      }
    }
    return null;
  },
};

/**
 * The init system of this host, checked the way each documents itself:
 * systemd runs when /run/systemd/system exists (sd_booted); OpenRC when
 * rc-service exists and /run/openrc does; SysV when `service` or /etc/init.d
 * exists. `none` otherwise (a container without an init system).
 */
export function detectServiceManager(host: HostProbe = realHost): ServiceManagerName | 'none' {
  if (host.exists('/run/systemd/system')) return 'systemd';
  if (host.which('rc-service') && host.exists('/run/openrc')) return 'openrc';
  if (host.which('service') || host.exists('/etc/init.d')) return 'sysv';
  return 'none';
}

export interface ServiceManagersOptions {
  probe: ProbeRunner;
  host?: HostProbe;
  /** Put before sysv/openrc commands (['sudo', '-n']) when the agent is not root. */
  prefix?: readonly string[];
}

/**
 * The managers of one agent: `auto` is detected once, on first use, and each
 * manager is made once and shared by every service that uses it.
 */
export class ServiceManagers {
  private detected: ServiceManagerName | 'none' | undefined;
  private readonly made = new Map<ServiceManagerName, ServiceManager>();

  constructor(private readonly opts: ServiceManagersOptions) {}

  /** The detected init system (cached). */
  detect(): ServiceManagerName | 'none' {
    this.detected ??= detectServiceManager(this.opts.host ?? realHost);
    return this.detected;
  }

  /** The manager for a configured kind; null for `none` or when `auto` finds none. */
  get(kind: ServiceManagerKind): ServiceManager | null {
    const name = kind === 'auto' ? this.detect() : kind;
    if (name === 'none') return null;
    return getOrCreate(this.made, name, (n) => this.create(n));
  }

  private create(name: ServiceManagerName): ServiceManager {
    const host = this.opts.host ?? realHost;
    const prefix = this.opts.prefix ?? [];
    switch (name) {
      case 'systemd':
        return new SystemdManager(this.opts.probe, host.which('systemctl') ?? 'systemctl');
      case 'openrc':
        return new OpenRcManager(this.opts.probe, prefix, host.which('rc-service') ?? 'rc-service');
      case 'sysv':
        return new SysvManager({ serviceBin: host.which('service'), prefix });
    }
  }
}
