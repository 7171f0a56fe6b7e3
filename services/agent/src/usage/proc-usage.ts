import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isDeadState, parseStat, readProcFile, readProcStat } from '../exec/process-names.js';

/**
 * What a process costs, read from /proc: the fields of /proc/PID/stat the
 * usage sampler needs, a process's children (from the kernel's
 * /proc/PID/task/TID/children lists, so no scan of the whole process table
 * is needed to walk a tree) and its open files (/proc/PID/fd).
 */

/** The fields of /proc/PID/stat the sampler uses. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Clock ticks spent in user + kernel mode (utime + stime). */
  cpuTicks: number;
  threads: number;
  /** Start time in clock ticks after boot: with the pid, names one process for good. */
  startTicks: number;
  rssPages: number;
}

/** Host constants of the /proc units. */
export interface ProcUnits {
  /** Clock ticks per second of stat's times (CLK_TCK). */
  clockTicks: number;
  pageSize: number;
  /** Boot time, epoch ms (btime of /proc/stat). */
  bootMs: number;
}

let units: ProcUnits | null = null;

/** CLK_TCK, the page size and the boot time, read once (getconf runs once per agent). */
export function procUnits(root = '/proc'): ProcUnits {
  if (units) return units;
  const conf = (name: string, fallback: number) => {
    try {
      const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2_000 }).trim());
      return Number.isInteger(n) && n > 0 ? n : fallback;
    } catch {
      return fallback;
    }
  };
  let bootMs = 0;
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync(`${root}/stat`, 'utf8'));
    bootMs = m ? Number(m[1]) * 1000 : 0;
  } catch {
    // no /proc/stat: uptimes read 0
  }
  units = { clockTicks: conf('CLK_TCK', 100), pageSize: conf('PAGESIZE', 4096), bootMs };
  return units;
}

/** /proc/PID/stat of a live process; null when it is gone, a zombie, or unreadable. */
export function readUsageStat(pid: number, root = '/proc'): ProcStat | null {
  const text = readProcStat(pid, 'latin1', root);
  return text === null ? null : parseProcStat(pid, text);
}

/** Parses one /proc/PID/stat line (comm may contain spaces and parentheses: fields start after the last ')'). */
export function parseProcStat(pid: number, text: string): ProcStat | null {
  const f = parseStat(text)?.fields;
  if (f === undefined || f.length < 22 || isDeadState(f[0])) return null;
  return {
    pid,
    ppid: Number(f[1]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    threads: Number(f[17]),
    startTicks: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/**
 * Direct children of every thread of `pid` ([] when it is gone). A
 * single-threaded process has one list, read without listing its tasks.
 */
export function childrenOf(pid: number, root = '/proc', threads = 0): number[] {
  let tasks: string[];
  if (threads === 1) {
    tasks = [String(pid)];
  } else {
    try {
      tasks = readdirSync(`${root}/${pid}/task`);
    } catch {
      return [];
    }
  }
  const out: number[] = [];
  for (const tid of tasks) {
    const text = readProcFile(`${root}/${pid}/task/${tid}/children`, 'latin1');
    if (text === null) continue;
    for (const c of text.split(' ')) if (c !== '' && c !== '\n') out.push(Number(c));
  }
  return out;
}

/**
 * Entries of /proc/PID/fd; undefined when it cannot be read (another user's
 * process, gone). Linux 6.2 and later give the count as the directory's
 * size, one stat() instead of listing it; older kernels say 0 there.
 */
export function openFilesOf(pid: number, root = '/proc'): number | undefined {
  try {
    const size = statSync(`${root}/${pid}/fd`).size;
    return size > 0 ? size : readdirSync(`${root}/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** What a set of processes costs together. */
export interface TreeUsage {
  /** Every live process counted, the first one first. */
  pids: number[];
  rssBytes: number;
  cpuTicks: number;
  threads: number;
  /** Undefined when one of the processes' fd lists could not be read. */
  openFiles: number | undefined;
  /** The earliest start among them, in clock ticks after boot. */
  startTicks: number;
}

/** A hard stop for a runaway fork tree: the sampler never walks more processes than this per service. */
export const MAX_TREE_PROCESSES = 4096;

/**
 * The cost of `roots` and every process under them (children,
 * grandchildren …), each counted once. Null when none of the roots is alive.
 */
export function treeUsage(roots: readonly number[], opts: { root?: string; pageSize: number; walk?: boolean }): TreeUsage | null {
  const root = opts.root ?? '/proc';
  const seen = new Set<number>();
  const queue = [...roots];
  const usage: TreeUsage = { pids: [], rssBytes: 0, cpuTicks: 0, threads: 0, openFiles: 0, startTicks: Number.POSITIVE_INFINITY };
  while (queue.length > 0 && usage.pids.length < MAX_TREE_PROCESSES) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const stat = readUsageStat(pid, root);
    if (!stat) continue;
    usage.pids.push(pid);
    usage.rssBytes += stat.rssPages * opts.pageSize;
    usage.cpuTicks += stat.cpuTicks;
    usage.threads += stat.threads;
    usage.startTicks = Math.min(usage.startTicks, stat.startTicks);
    const fds = openFilesOf(pid, root);
    usage.openFiles = fds === undefined || usage.openFiles === undefined ? undefined : usage.openFiles + fds;
    if (opts.walk !== false) queue.push(...childrenOf(pid, root, stat.threads));
  }
  return usage.pids.length === 0 ? null : usage;
}

/**
 * The main process among processes found (startTicks -1 when there was only
 * one and its stat was not read: take it from the tree) for a service (several share its
 * name when it forks workers): the one whose parent is not among them, the
 * oldest when there are several; null for none alive.
 */
export function mainPidOf(candidates: readonly number[], root = '/proc'): { pid: number; startTicks: number } | null {
  // One candidate is the main process: its start time comes from the tree walk that reads its stat anyway.
  if (candidates.length === 1) return { pid: candidates[0]!, startTicks: -1 };
  const stats = candidates.map((pid) => readUsageStat(pid, root)).filter((s): s is ProcStat => s !== null);
  const mine = new Set(stats.map((s) => s.pid));
  const tops = stats.filter((s) => !mine.has(s.ppid));
  const pick = (tops.length > 0 ? tops : stats).sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid)[0];
  return pick ? { pid: pick.pid, startTicks: pick.startTicks } : null;
}
