import { existsSync, readFileSync } from 'node:fs';

/**
 * What a systemd unit costs, from its cgroup: the unified (v2) hierarchy at
 * /sys/fs/cgroup, or its `unified/` mount on hybrid hosts (where the memory
 * and cpu numbers are not kept, and only the unit's process list is used).
 */

/** The cgroup directory of a system unit, or null when it has none (not a systemd service, or not running). */
export function unitCgroupDir(unit: string, root = '/sys/fs/cgroup'): string | null {
  const name = unit.includes('.') ? unit : `${unit}.service`;
  // A unit name never contains a slash; one that does must not escape the hierarchy.
  if (name.includes('/') || name.startsWith('.')) return null;
  for (const dir of [`${root}/system.slice/${name}`, `${root}/unified/system.slice/${name}`]) {
    if (existsSync(`${dir}/cgroup.procs`)) return dir;
  }
  return null;
}

/** The cgroup's own accounting; a number it does not keep is undefined. */
export interface CgroupUsage {
  /** Processes in the cgroup (cgroup.procs). */
  pids: number[];
  /** memory.current: every page charged to the unit (page cache included, as systemctl status shows). */
  memoryBytes: number | undefined;
  /** usage_usec of cpu.stat. */
  cpuUsec: number | undefined;
  /** pids.current: tasks (threads) in the cgroup. */
  tasks: number | undefined;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'latin1').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Reads one unit's cgroup; null when it vanished meanwhile. */
export function readCgroupUsage(dir: string): CgroupUsage | null {
  let procs: string;
  try {
    procs = readFileSync(`${dir}/cgroup.procs`, 'latin1');
  } catch {
    return null;
  }
  let cpuUsec: number | undefined;
  try {
    const m = /^usage_usec (\d+)$/m.exec(readFileSync(`${dir}/cpu.stat`, 'latin1'));
    cpuUsec = m ? Number(m[1]) : undefined;
  } catch {
    cpuUsec = undefined;
  }
  return {
    pids: procs
      .split('\n')
      .filter((l) => l !== '')
      .map(Number),
    memoryBytes: readNumber(`${dir}/memory.current`),
    cpuUsec,
    tasks: readNumber(`${dir}/pids.current`),
  };
}
