import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who holds the lease, precisely enough to tell whether that process is dead:
 * `<controllerId>#<host>#<boot>#<pidns>#<pid>#<random>`. Two processes on the
 * same kernel boot (boot_id) and in the same PID namespace see the same PIDs,
 * so there a PID that no longer exists proves its holder is gone. Anywhere
 * else nothing is concluded and the lease simply expires.
 */
export interface HolderIdentity {
  controllerId: string;
  host: string;
  boot: string;
  pidNamespace: string;
  pid: number;
}

export function currentHolder(controllerId: string): string {
  const id: HolderIdentity = { controllerId, host: hostname(), boot: bootId(), pidNamespace: pidNamespace(), pid: process.pid };
  return [id.controllerId, id.host, id.boot, id.pidNamespace, String(id.pid), randomBytes(4).toString('hex')].map(clean).join('#');
}

export function parseHolder(token: string): HolderIdentity | null {
  const parts = token.split('#');
  if (parts.length !== 6) return null;
  const [controllerId, host, boot, pidNamespace, pid] = parts as [string, string, string, string, string];
  if (!/^\d+$/.test(pid) || boot === '' || pidNamespace === '') return null;
  return { controllerId, host, boot, pidNamespace, pid: Number(pid) };
}

/**
 * True only when `token` names a process on this kernel boot, in this PID
 * namespace, that no longer exists (and is not this process).
 */
export function holderIsDeadHere(token: string): boolean {
  const h = parseHolder(token);
  if (!h || h.boot !== bootId() || h.pidNamespace !== pidNamespace() || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 16);
  } catch {
    return '';
  }
}

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return '';
  }
}

/** '#' separates the fields; a controller id or host name holding one must not shift them. */
function clean(s: string): string {
  return s.replace(/#/g, '_').slice(0, 64);
}
