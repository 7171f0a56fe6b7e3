import type { ProcessConfig } from '@smgr/shared';
import { checkUnitName, type ServiceManagerName } from '../service-managers/service-manager.js';

/** A watched service whose systemd unit the agent follows over D-Bus. */
export interface UnitWatchTarget {
  /** The service's NAME (its `[process.NAME]`). */
  service: string;
  /** The full unit name (service_name or NAME, `.service` added when it has no unit suffix). */
  unit: string;
  /** restart_strategy = auto: followed only when systemd has the unit loaded (auto uses the process strategy otherwise). */
  onlyIfLoaded: boolean;
}

/** The unit types systemctl recognises by suffix; any other name gets `.service`, as systemctl does. */
const UNIT_SUFFIXES = ['.service', '.socket', '.target', '.mount', '.automount', '.swap', '.timer', '.path', '.slice', '.scope', '.device'];

/** `nginx` → `nginx.service`; `nginx.service`, `getty@tty1.service` unchanged. */
export function systemdUnitName(name: string): string {
  return UNIT_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length) ? name : `${name}.service`;
}

/**
 * The watched services whose state systemd can report over D-Bus: watch =
 * true, restart_strategy service or auto, and a service manager that is (or,
 * for `auto`, was detected as) systemd. Unit names come from the local
 * config only and are checked like any unit name the agent uses.
 */
export function unitWatchTargets(services: readonly ProcessConfig[], detected: () => ServiceManagerName | 'none'): UnitWatchTarget[] {
  const out: UnitWatchTarget[] = [];
  for (const s of services) {
    if (!s.watch || s.restartStrategy === 'process') continue;
    const manager = s.serviceManager === 'auto' ? detected() : s.serviceManager;
    if (manager !== 'systemd') continue;
    const unit = systemdUnitName(s.serviceName ?? s.name);
    if (checkUnitName(unit) !== null) continue;
    out.push({ service: s.name, unit, onlyIfLoaded: s.restartStrategy === 'auto' });
  }
  return out;
}

/** systemd's ActiveState values (org.freedesktop.systemd1.Unit). */
export const ACTIVE_STATES = ['active', 'reloading', 'inactive', 'failed', 'activating', 'deactivating', 'maintenance', 'refreshing'] as const;
export type ActiveState = (typeof ACTIVE_STATES)[number];

/** States that mean a unit that should run does not (or is going down). */
const DOWN: ReadonlySet<string> = new Set(['failed', 'inactive', 'deactivating']);

/**
 * States after which the unit is down for certain: a check that fails then
 * is reported at once instead of waiting for watch_failures checks in a row
 * (`deactivating` may still end in a restart by systemd itself).
 */
const SETTLED_DOWN: ReadonlySet<string> = new Set(['failed', 'inactive']);

/** What a PropertiesChanged signal of a unit says about its state. */
export interface UnitStateChange {
  activeState: ActiveState;
  /** SubState when the signal carries it (`failed`, `dead`, `stop-sigterm`, ...), else ''. */
  subState: string;
  /** The unit is down or going down. */
  down: boolean;
  /** The unit is down for certain (failed or inactive). */
  settled: boolean;
}

const MAX_SUBSTATE = 64;

/**
 * Reads the body of `org.freedesktop.DBus.Properties.PropertiesChanged`
 * (`sa{sv}as`) for the org.freedesktop.systemd1.Unit interface. Anything
 * else, or a value of the wrong type or outside systemd's states, is null:
 * the bus is trusted to route, not to be well formed.
 */
export function parseUnitStateChange(body: unknown): UnitStateChange | null {
  if (!Array.isArray(body) || body[0] !== 'org.freedesktop.systemd1.Unit') return null;
  const changed: unknown = body[1];
  if (changed === null || typeof changed !== 'object') return null;
  const active = variantString((changed as Record<string, unknown>).ActiveState);
  if (active === null || !(ACTIVE_STATES as readonly string[]).includes(active)) return null;
  const sub = variantString((changed as Record<string, unknown>).SubState) ?? '';
  return {
    activeState: active as ActiveState,
    subState: /^[a-z0-9-]*$/.test(sub) ? sub.slice(0, MAX_SUBSTATE) : '',
    down: DOWN.has(active),
    settled: SETTLED_DOWN.has(active),
  };
}

/** The string inside a D-Bus variant `{ signature: 's', value }`, or null. */
function variantString(v: unknown): string | null {
  if (v === null || typeof v !== 'object') return null;
  const { signature, value } = v as { signature?: unknown; value?: unknown };
  return signature === 's' && typeof value === 'string' ? value : null;
}
