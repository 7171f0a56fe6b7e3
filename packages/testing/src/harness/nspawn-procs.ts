/**
 * The process table as the nspawn hosts need it: a container's init, the
 * processes still using an overlay, and killing or probing a PID that may
 * already be gone.
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The container's init: the nspawn child that is PID 1 of its own PID
 * namespace (its NSpid line ends in "1").
 */
export function findLeader(nspawnPid: number): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (ppid === nspawnPid && nspid && nspid.length >= 2 && nspid[nspid.length - 1] === '1') return Number(d);
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

/** systemd-nspawn processes booted from `root`, and their inits. */
export function pidsUsingRoot(root: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a === `--directory=${root}`)) {
        out.push(Number(d));
        const leader = findLeader(Number(d));
        if (leader !== undefined) out.push(leader);
      }
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie counts as gone: it holds no mounts and runs nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
