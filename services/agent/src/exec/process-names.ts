import { closeSync, openSync, readFileSync, readSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';

/** comm is cut to 15 bytes by the kernel (TASK_COMM_LEN - 1). */
export const COMM_MAX = 15;

/** What the kernel's comm reads for a process named `name`: the name cut to COMM_MAX bytes. */
export function commForName(name: string): string {
  const bytes = Buffer.from(name);
  return bytes.length <= COMM_MAX ? name : bytes.subarray(0, COMM_MAX).toString('utf8');
}

/**
 * Which processes run under which name, from one pass over /proc/PID/stat:
 * what `pgrep -x -- NAME` answers, without forking pgrep for every check.
 * A watch round takes one snapshot and answers every service from it.
 *
 * Names up to 15 bytes are compared with the kernel's comm exactly, as
 * pgrep -x does. Longer names (for which pgrep -x never matches, since comm
 * is cut to 15 bytes) match a 15-byte comm prefix confirmed by the base name
 * of an element of the command line. Zombies and the agent itself never match.
 */
export class ProcessNames {
  private constructor(
    private readonly byComm: Map<string, number[]>,
    /** A process's command line, for names longer than comm keeps; null when it is gone. */
    private readonly argvOf: (pid: number) => readonly string[] | null = readArgv,
    /** Filters what an older view holds down to the processes still alive; none for a fresh capture. */
    private readonly alive?: (pid: number) => boolean,
  ) {}

  /**
   * An index over processes already read (the shared process-table view),
   * answering like a capture at that moment; `alive` drops the ones that
   * died since.
   */
  static fromTable(procs: Iterable<{ pid: number; comm: string; argv: readonly string[] }>, alive: (pid: number) => boolean): ProcessNames {
    const byComm = new Map<string, number[]>();
    const argv = new Map<number, readonly string[]>();
    for (const p of procs) {
      const list = byComm.get(p.comm);
      if (list) list.push(p.pid);
      else byComm.set(p.comm, [p.pid]);
      argv.set(p.pid, p.argv);
    }
    return new ProcessNames(byComm, (pid) => argv.get(pid) ?? null, alive);
  }

  /**
   * Reads /proc now. Synchronous: a consistent snapshot, a few milliseconds
   * for a few hundred processes; one shared buffer and three syscalls per
   * process (readFileSync would add an fstat and a buffer each).
   */
  static capture(): ProcessNames {
    const byComm = new Map<string, number[]>();
    for (const entry of readdirSync('/proc')) {
      const first = entry.charCodeAt(0);
      if (first < 48 || first > 57) continue;
      const pid = Number(entry);
      if (pid === process.pid) continue;
      const stat = readProcStat(entry, 'latin1');
      if (stat === null) continue;
      const close = stat.lastIndexOf(')');
      const state = stat.charAt(close + 2);
      if (state === 'Z' || state === 'X') continue;
      // latin1 keeps every byte; comm is compared as the UTF-8 bytes it is.
      const comm = Buffer.from(stat.slice(stat.indexOf('(') + 1, close), 'latin1').toString('utf8');
      const list = byComm.get(comm);
      if (list) list.push(pid);
      else byComm.set(comm, [pid]);
    }
    return new ProcessNames(byComm);
  }

  /** Pids of live processes named exactly `name`. */
  pidsNamed(name: string): number[] {
    if (name === '') return [];
    const bytes = Buffer.from(name);
    const pids =
      bytes.length <= COMM_MAX
        ? (this.byComm.get(name) ?? [])
        : (this.byComm.get(commForName(name)) ?? []).filter((pid) => this.argvOf(pid)?.some((a) => a !== '' && basename(a) === name) ?? false);
    return this.alive ? pids.filter(this.alive) : pids;
  }
}

function readArgv(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/** Every read of /proc/PID/stat goes through this one buffer: no allocation or fstat per process. */
const statBuffer = Buffer.alloc(4096);

/** /proc/PID/stat as text (null when the process is gone); the process table and the name index share it. */
export function readProcStat(pid: number | string, encoding: 'utf8' | 'latin1' = 'utf8'): string | null {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    return statBuffer.toString(encoding, 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
