import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ProcessConfig } from '@smgr/shared';
import { COMM_MAX, commForName, isDeadState, parseStat, ProcessNames, readProcStat, statState } from './process-names.js';

/** One live process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Session id: every process a command started stays in its session unless it calls setsid(). */
  sid: number;
  comm: string;
  argv: string[];
}

/** Parses /proc/PID/stat; null for zombies and unreadable entries. */
function toProcInfo(pid: number, stat: string): Omit<ProcInfo, 'argv'> | null {
  const parsed = parseStat(stat);
  if (parsed === null || isDeadState(parsed.fields[0])) return null;
  const { comm, fields } = parsed;
  return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), sid: Number(fields[3]), comm };
}

const splitCmdline = (cmdline: string) => cmdline.split('\0').filter((s, i, a) => i < a.length - 1 || s !== '');

async function readProc(pid: number): Promise<ProcInfo | null> {
  try {
    const stat = toProcInfo(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
    if (!stat) return null;
    return { ...stat, argv: splitCmdline(await readFile(`/proc/${pid}/cmdline`, 'utf8')) };
  } catch {
    return null;
  }
}

const numericEntries = (names: string[]) => names.filter((d) => /^\d+$/.test(d)).map(Number);

/**
 * How old a process-table view may be and still answer a lookup. Twenty
 * repairs starting together ask for the processes of twenty services within
 * a few milliseconds: one pass over /proc answers them all, instead of one
 * full scan each (which, in 0.1, made a 50 ms stop take 1.5 s in a mass failure).
 * A pass costs 15-30 ms on a loaded VM for 200 processes (each open+read of
 * a /proc file ~0.1 ms), and a burst on a loaded host spreads over a second
 * or more, hence a quarter of a second. The view stays true enough for that
 * long: processes the agent starts join it (noteStarted), lookups drop the
 * dead, a hook command (which may start anything) and a start command that
 * exits at once (a daemon's start script) end it, and a name check that
 * finds nothing is confirmed from /proc as it is now (checks.ts).
 * Each pass reads one /proc/PID/stat per process, the command line only
 * for processes not seen before.
 */
export const PROCESS_TABLE_MAX_AGE_MS = 250;

let view: { at: number; procs: ProcInfo[] } | null = null;
/** Changes whenever the view does (a new pass, or children merged into it). */
let viewVersion = 0;
/**
 * Processes the agent started since the view was taken: a lookup adds them
 * to the view (read one by one) instead of reading all of /proc again, so a
 * burst of twenty repairs, each starting a process, still shares one pass.
 */
const births = new Set<number>();

/**
 * Every live process (not zombies, not the agent), with its command line:
 * one synchronous pass over /proc, shared by every lookup within
 * PROCESS_TABLE_MAX_AGE_MS, plus the processes the agent started since
 * (noteStarted). Synchronous on purpose: a few milliseconds for a few
 * hundred processes, and a consistent view; thousands of concurrent async
 * reads cost more and interleave with the processes changing. A process
 * in the view may have died since: lookups check the ones they return.
 */
export function processTable(now = Date.now()): readonly ProcInfo[] {
  if (view && now - view.at >= 0 && now - view.at <= PROCESS_TABLE_MAX_AGE_MS) {
    if (births.size > 0) mergeBirths(view.procs);
    return view.procs;
  }
  const self = process.pid;
  const procs: ProcInfo[] = [];
  const seen = new Map<number, { key: string; argv: string[] }>();
  births.clear();
  for (const pid of numericEntries(readdirSync('/proc'))) {
    if (pid === self) continue;
    const info = readProcSync(pid, seen);
    if (info) procs.push(info);
  }
  argvCache = seen;
  view = { at: now, procs };
  viewVersion++;
  return procs;
}

let names: { version: number; index: ProcessNames } | null = null;

/**
 * `pgrep -x` answers from the shared view (processTable): what the checks of
 * an operation use, so twenty repairs at once do not each read /proc. The
 * watch rounds take their own capture (they run when nothing else does).
 */
export function sharedProcessNames(): ProcessNames {
  const procs = processTable();
  if (names?.version !== viewVersion) names = { version: viewVersion, index: ProcessNames.fromTable(procs, isAlive) };
  return names.index;
}

/**
 * Command lines by pid, kept while the process keeps its start time and
 * name (an exec changes the name): a pass reads /proc/PID/cmdline only for
 * processes it has not seen before. Pruned to the processes of the last pass.
 */
let argvCache = new Map<number, { key: string; argv: string[] }>();

/** starttime (field 22 of stat) and comm: what identifies one program run of a pid. */
function runKey(stat: string, comm: string): string {
  let at = stat.lastIndexOf(')') + 2;
  for (let field = 0; field < 19 && at > 1; field++) at = stat.indexOf(' ', at) + 1;
  return `${stat.slice(at, stat.indexOf(' ', at))}/${comm}`;
}

function readProcSync(pid: number, seen?: Map<number, { key: string; argv: string[] }>): ProcInfo | null {
  const text = readProcStat(pid);
  if (text === null) return null;
  const stat = toProcInfo(pid, text);
  if (!stat) return null;
  const key = runKey(text, stat.comm);
  let cached = argvCache.get(pid);
  if (cached?.key !== key) {
    try {
      cached = { key, argv: splitCmdline(readFileSync(`/proc/${pid}/cmdline`, 'utf8')) };
    } catch {
      return null; // exited while we looked
    }
    argvCache.set(pid, cached);
  }
  seen?.set(pid, cached);
  return { ...stat, argv: cached.argv };
}

function mergeBirths(procs: ProcInfo[]): void {
  // A child that still shows the agent's own comm has not exec'd yet: it is read again at the next lookup.
  const ownComm = readOwnComm();
  for (const pid of births) {
    const info = readProcSync(pid);
    if (info && info.comm === ownComm) continue; // forked, not exec'd yet: look again next time
    births.delete(pid);
    if (!info) continue;
    const i = procs.findIndex((p) => p.pid === pid);
    if (i >= 0) procs[i] = info;
    else procs.push(info);
    viewVersion++;
  }
}

function readOwnComm(): string {
  try {
    return readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, '');
  } catch {
    return '';
  }
}

/** The agent started `pid` itself: lookups see it without a new pass over /proc. */
export function noteStarted(pid: number): void {
  if (pid > 0) births.add(pid);
}

/** The next lookup reads all of /proc again. */
export function invalidateProcessTable(): void {
  view = null;
  births.clear();
}

/**
 * Processes whose name is exactly `name`: the kernel's comm (for names up to
 * 15 bytes, or its 15-byte prefix confirmed by the command line) or the base
 * name of argv[0]. Compared as plain strings: a name is never a pattern.
 * Answered from the shared process-table view (processTable); a process
 * found there is checked to be still alive.
 */
export async function findProcessesByName(name: string): Promise<ProcInfo[]> {
  if (name === '') return [];
  const prefix = commForName(name);
  const short = Buffer.byteLength(name) <= COMM_MAX;
  return processTable().filter((p) => {
    if (p.argv[0] !== undefined && basename(p.argv[0]) === name) return isAlive(p.pid);
    if (short) return p.comm === name && isAlive(p.pid);
    return p.comm === prefix && p.argv.some((a) => basename(a) === name) && isAlive(p.pid);
  });
}

/** The live process named by a pidfile, if any. */
export async function findProcessByPidfile(path: string): Promise<ProcInfo[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return [];
  const info = await readProc(pid);
  return info ? [info] : [];
}

/**
 * Every live process's pid, parent, group and session, read synchronously:
 * used when killing a process tree, where a consistent snapshot matters more
 * than not blocking the event loop for a few milliseconds.
 */
export function snapshotProcesses(): Omit<ProcInfo, 'argv'>[] {
  const out: Omit<ProcInfo, 'argv'>[] = [];
  for (const pid of numericEntries(readdirSync('/proc'))) {
    // null: exited while we looked
    const stat = readProcStat(pid);
    const info = stat === null ? null : toProcInfo(pid, stat);
    if (info) out.push(info);
  }
  return out;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && !isDeadState(statState(stat));
}

/**
 * SIGTERM, wait up to `graceMs`, then SIGKILL. A process that leads its own
 * process group (a daemon we or its init started) is signalled as a group so
 * its children go with it. Returns the pids that had to be killed, those
 * still alive after SIGKILL, and those the agent may not signal at all (EPERM:
 * another user's process, see docs/agent-privileges.md).
 */
export async function terminate(procs: ProcInfo[], graceMs: number): Promise<{ killed: number[]; survivors: number[]; denied: number[] }> {
  const denied = new Set<number>();
  const send = (p: ProcInfo, sig: NodeJS.Signals) => {
    const target = p.pgid === p.pid && p.pgid !== process.pid && p.pgid > 1 ? -p.pid : p.pid;
    try {
      process.kill(target, sig);
    } catch (err) {
      // ESRCH: already gone. EPERM: not ours to signal; waiting will not help.
      if ((err as NodeJS.ErrnoException).code === 'EPERM') denied.add(p.pid);
    }
  };
  for (const p of procs) send(p, 'SIGTERM');
  const waitable = () => procs.filter((p) => !denied.has(p.pid));
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && waitable().some((p) => isAlive(p.pid))) await sleep(50);
  const killed = waitable().filter((p) => isAlive(p.pid));
  for (const p of killed) send(p, 'SIGKILL');
  const hardDeadline = Date.now() + 2_000;
  while (Date.now() < hardDeadline && killed.some((p) => !denied.has(p.pid) && isAlive(p.pid))) await sleep(50);
  return {
    killed: killed.filter((p) => !denied.has(p.pid)).map((p) => p.pid),
    survivors: procs.filter((p) => isAlive(p.pid)).map((p) => p.pid),
    denied: [...denied],
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The processes a service currently runs as: by pidfile when configured, else by exact name. */
export async function findServiceProcesses(ctx: { service: Pick<ProcessConfig, 'name' | 'pidfile'> }): Promise<ProcInfo[]> {
  return ctx.service.pidfile ? findProcessByPidfile(ctx.service.pidfile) : findProcessesByName(ctx.service.name);
}
