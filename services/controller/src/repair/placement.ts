/**
 * Where a PROCESE row is repaired (docs/architecture.md, One alarm):
 *  1. explicit smgr_placement rows for the process;
 *  2. else a `name@host` process_name;
 *  3. else the one agent that manages `name`.
 * Anything else is refused with a reason that ends up in `notes`.
 */
export type Placement =
  | { ok: true; hostId: string; service: string; via: 'table' | 'name@host' | 'registry' }
  | { ok: false; code: 'BAD_NAME' | 'UNPLACED' | 'AMBIGUOUS'; reason: string };

const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Printable, bounded rendering of a name that came from the database. */
export function quoteName(name: string, max = 40): string {
  const chars = Array.from(name);
  const shown = chars.length > max ? `${chars.slice(0, max).join('')}…` : name;
  return JSON.stringify(shown);
}

export function resolvePlacement(
  processName: string,
  explicit: { hostId: string; service: string | null }[],
  hostsManaging: (service: string) => string[],
): Placement {
  if (processName.trim() === '') return { ok: false, code: 'BAD_NAME', reason: 'process_name is empty' };
  if (/[\u0000-\u001f\u007f\ufffd]/.test(processName)) {
    return { ok: false, code: 'BAD_NAME', reason: `process_name ${quoteName(processName)} has control or invalid characters` };
  }
  if (explicit.length === 1) {
    const row = explicit[0]!;
    return { ok: true, hostId: row.hostId, service: row.service ?? processName, via: 'table' };
  }
  if (explicit.length > 1) {
    return {
      ok: false,
      code: 'AMBIGUOUS',
      reason: `placed on ${explicit.length} hosts (${explicit.map((e) => e.hostId).join(', ')}); keep one smgr_placement row`,
    };
  }
  const at = processName.lastIndexOf('@');
  if (at > 0 && HOST_RE.test(processName.slice(at + 1))) {
    return { ok: true, hostId: processName.slice(at + 1), service: processName.slice(0, at), via: 'name@host' };
  }
  const hosts = hostsManaging(processName);
  if (hosts.length === 1) return { ok: true, hostId: hosts[0]!, service: processName, via: 'registry' };
  if (hosts.length === 0) return { ok: false, code: 'UNPLACED', reason: `no agent manages ${quoteName(processName)}` };
  return {
    ok: false,
    code: 'AMBIGUOUS',
    reason: `${quoteName(processName, 20)} is on ${hosts.length} hosts (${hosts.slice(0, 3).join(', ')}${hosts.length > 3 ? ', …' : ''}); use name@host or smgr_placement`,
  };
}
