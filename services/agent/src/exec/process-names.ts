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
      if (stat === null || isDeadState(statState(stat))) continue;
      const close = stat.lastIndexOf(')');
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

/** Every small /proc read (stat, children lists) goes through this one buffer: no allocation or fstat per file. */
const procBuffer = Buffer.alloc(4096);

/**
 * A small /proc file as text, or null when it cannot be read (the process is
 * gone, another user's): open, one read into the shared buffer, close. A stat
 * line is a few hundred bytes (comm is at most 64).
 */
export function readProcFile(path: string, encoding: 'utf8' | 'latin1' = 'utf8'): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, procBuffer, 0, procBuffer.length, 0);
    return procBuffer.toString(encoding, 0, n);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** /proc/PID/stat as text (null when the process is gone); every reader of stat in the agent uses it. */
export function readProcStat(pid: number | string, encoding: 'utf8' | 'latin1' = 'utf8', root = '/proc'): string | null {
  return readProcFile(`${root}/${pid}/stat`, encoding);
}

/** A /proc/PID/stat line split: comm, and the fields after it. */
export interface ProcStatFields {
  comm: string;
  /** fields[0] is the state (field 3 of proc(5)); field N of proc(5) is fields[N - 3]. */
  fields: string[];
}

/** Splits a stat line; comm may contain spaces and ") ", so fields start after the last ')'. null without one. */
export function parseStat(text: string): ProcStatFields | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  return { comm: text.slice(text.indexOf('(') + 1, close), fields: text.slice(close + 2).split(' ') };
}

/** The state letter of a stat line (field 3 of proc(5)), without splitting the rest. */
export function statState(text: string): string {
  return text.charAt(text.lastIndexOf(')') + 2);
}

/** Whether a state letter (fields[0]) is a zombie or a dead process: neither runs. */
export function isDeadState(state: string | undefined): boolean {
  return state === 'Z' || state === 'X';
}
