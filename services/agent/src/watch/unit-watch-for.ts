import type { Logger, ProcessConfig } from '@smgr/shared';
import { detectServiceManager } from '../service-managers/detect-service-manager.js';
import type { ServiceManagerName } from '../service-managers/service-manager.js';
import type { SystemdDbusWatch, UnitDown } from './systemd-dbus-watch.js';
import { unitWatchTargets } from './systemd-units.js';

/**
 * The agent's D-Bus watch for its config, or null when there is nothing to
 * follow: agent.systemd_dbus = false, or no watched service runs under
 * systemd with restart_strategy service or auto. dbus-next is loaded only
 * when there is a unit to follow: an agent without one does not carry it
 * (about 5 MiB of its resident memory).
 */
export async function systemdDbusWatchFor(
  config: { agent: { systemdDbus: boolean }; processes: readonly ProcessConfig[] },
  log: Logger,
  onDown: (e: UnitDown) => void,
  detected: () => ServiceManagerName | 'none' = () => detectServiceManager(),
): Promise<SystemdDbusWatch | null> {
  if (!config.agent.systemdDbus) return null;
  const targets = unitWatchTargets(config.processes, detected);
  if (targets.length === 0) return null;
  const { SystemdDbusWatch } = await import('./systemd-dbus-watch.js');
  return new SystemdDbusWatch({ targets, onDown, log });
}
