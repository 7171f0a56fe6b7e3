import { isAlive, sleep, snapshotProcesses, type ProcInfo } from './process-table.js';

type ProcLink = Pick<ProcInfo, 'pid' | 'ppid' | 'pgid' | 'sid'>;

/**
 * The processes that belong to a command started as session leader `root`:
 * its session and process group (children that were reparented to init when
 * their parent died stay in both), and every descendant by parent pid (which
 * also catches one that called setsid() while its parent still lives).
 * Never the agent itself, never pid 1.
 */
export function treeMembers(procs: readonly ProcLink[], root: number): number[] {
  const members = new Set<number>();
  for (const p of procs) if (p.pid === root || p.sid === root || p.pgid === root) members.add(p.pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!members.has(p.pid) && members.has(p.ppid)) {
        members.add(p.pid);
        grew = true;
      }
    }
  }
  members.delete(process.pid);
  members.delete(1);
  return [...members].sort((a, b) => a - b);
}

const signal = (pids: Iterable<number>, sig: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
};

/**
 * Kills a command and everything it started: SIGTERM to the whole tree, up to
 * `graceMs` for it to go, then SIGKILL to whatever is left, including
 * processes forked in the meantime. Returns every pid that was signalled.
 */
export async function killProcessTree(root: number, graceMs: number): Promise<number[]> {
  const first = treeMembers(snapshotProcesses(), root);
  signal(first, 'SIGTERM');
  const graceEnd = Date.now() + graceMs;
  while (Date.now() < graceEnd && first.some(isAlive)) await sleep(25);
  // Children forked during the grace are caught by the second look.
  const all = new Set([...first, ...treeMembers(snapshotProcesses(), root)]);
  const left = [...all].filter(isAlive);
  signal(left, 'SIGKILL');
  const hardEnd = Date.now() + 2_000;
  while (Date.now() < hardEnd && left.some(isAlive)) await sleep(25);
  return [...all].sort((a, b) => a - b);
}
