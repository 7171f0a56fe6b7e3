import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename } from 'node:path';

/** comm is cut to 15 bytes by the kernel (TASK_COMM_LEN - 1). */
const COMM_MAX = 15;

export interface ProcInfo {
  pid: number;
  pgid: number;
  comm: string;
  argv: string[];
}

async function readProc(pid: number): Promise<ProcInfo | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself contain ") ": split at the last one.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return { pid, pgid: Number(fields[2]), comm, argv: cmdline.split('\0').filter((s, i, a) => i < a.length - 1 || s !== '') };
  } catch {
    return null;
  }
}

/**
 * Processes whose name is exactly `name`: the kernel's comm (for names up to
 * 15 bytes, or its 15-byte prefix confirmed by the command line) or the base
 * name of argv[0]. Compared as plain strings: a name is never a pattern.
 */
export async function findProcessesByName(name: string): Promise<ProcInfo[]> {
  if (name === '') return [];
  const self = process.pid;
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => p !== self);
  const infos = await Promise.all(pids.map(readProc));
  const prefix = Buffer.from(name).subarray(0, COMM_MAX).toString('utf8');
  return infos.filter((p): p is ProcInfo => {
    if (!p) return false;
    if (p.argv[0] !== undefined && basename(p.argv[0]) === name) return true;
    if (Buffer.byteLength(name) <= COMM_MAX) return p.comm === name;
    return p.comm === prefix && p.argv.some((a) => basename(a) === name);
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

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * SIGTERM, wait up to `graceMs`, then SIGKILL. A process that leads its own
 * process group (a daemon we or its init started) is signalled as a group so
 * its children go with it. Returns the pids that had to be killed.
 */
export async function terminate(procs: ProcInfo[], graceMs: number): Promise<{ killed: number[]; survivors: number[] }> {
  const send = (p: ProcInfo, sig: NodeJS.Signals) => {
    const target = p.pgid === p.pid && p.pgid !== process.pid && p.pgid > 1 ? -p.pid : p.pid;
    try {
      process.kill(target, sig);
    } catch {
      // already gone
    }
  };
  for (const p of procs) send(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && procs.some((p) => isAlive(p.pid))) await sleep(50);
  const killed = procs.filter((p) => isAlive(p.pid));
  for (const p of killed) send(p, 'SIGKILL');
  const hardDeadline = Date.now() + 2_000;
  while (Date.now() < hardDeadline && killed.some((p) => isAlive(p.pid))) await sleep(50);
  return { killed: killed.map((p) => p.pid), survivors: killed.filter((p) => isAlive(p.pid)).map((p) => p.pid) };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
