import { readdirSync, readFileSync } from 'node:fs';

/** True while /proc/PID exists and is not a zombie (or dead): a reaped or zombie PID has stopped doing anything. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * PIDs whose kernel comm is exactly `name` (test-side check, independent of
 * the agent's code). A shell service that forks (e.g. `sleep` in a loop) has,
 * for an instant, a child with its own comm before exec: such children of a
 * matching parent are not counted as another instance.
 */
export function findPids(name: string): number[] {
  const found = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const [state, ppid] = stat.slice(close + 2).split(' ');
      if (comm === name && state !== 'Z') found.set(Number(d), Number(ppid));
    } catch {
      // exited while we looked
    }
  }
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

/** Kills every process named `name` (test cleanup for daemons the agent started detached). */
export function killAll(name: string): void {
  for (const pid of findPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The children of `pid` (every thread's) as this machine's /proc shows them, with their state. */
export function childrenOf(pid: number): { pid: number; state: string; comm: string }[] {
  const out: { pid: number; state: string; comm: string }[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let list: string;
    try {
      list = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of list.split(' ').filter((s) => s.trim() !== '')) {
      try {
        const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        out.push({ pid: Number(child), state: stat.charAt(close + 2), comm: stat.slice(stat.indexOf('(') + 1, close) });
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}
