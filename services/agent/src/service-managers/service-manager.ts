/** What a service manager is asked to do with a unit. */
export type ServiceAction = 'start' | 'stop' | 'restart' | 'status';

/** An init system the agent can detect and drive. */
export type ServiceManagerName = 'systemd' | 'sysv' | 'openrc';

/** Runs a short query command and says whether it succeeded and what it printed. */
export type ProbeRunner = (argv: string[]) => Promise<{ ok: boolean; output: string }>;

/**
 * One init system, behind one interface (as Nomad puts drivers behind
 * plugins/drivers/driver.go). Implementations only build argv and answer
 * "do you have this unit"; running the argv, deadlines and output are the
 * strategy's, so every manager gets the same safety.
 */
export interface ServiceManager {
  readonly name: ServiceManagerName;
  /**
   * The argv that performs `action` on `unit`. For `status` it exits 0 only
   * while the unit runs.
   */
  argv(action: ServiceAction, unit: string): string[];
  /** Whether this manager has a unit of that name (how `auto` decides). */
  hasUnit(unit: string): Promise<boolean>;
}

/**
 * Unit names come from the local config only, but they still end up as a
 * path (/etc/init.d/NAME) or an argument: no slashes, no leading dash, no
 * control characters.
 */
export function checkUnitName(unit: string): string | null {
  if (unit === '' || unit.length > 255) return 'the unit name is empty or longer than 255 characters';
  if (unit.startsWith('-')) return `unit name ${JSON.stringify(unit)} starts with "-"`;
  if (unit.includes('/') || unit === '.' || unit === '..') return `unit name ${JSON.stringify(unit)} contains a path`;
  if (/[\u0000-\u001f\u007f]/.test(unit)) return 'the unit name contains control characters';
  return null;
}
