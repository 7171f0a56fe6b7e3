/**
 * Mount bookkeeping for harness pieces that mount things (overlays of the
 * fleet rootfs, debootstrap's /proc): find what is mounted under a directory
 * and take it down, deepest first, before the directory is removed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount points at or below `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const base = dir.replace(/\/+$/, '');
  const points: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    // Field 5 is the mount point, with space, tab, newline and backslash octal-escaped.
    const raw = line.split(' ')[4];
    if (!raw) continue;
    const point = raw.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === base || point.startsWith(`${base}/`)) points.push(point);
  }
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything at or below `dir`. A busy mount (a process still
 * inside) is detached lazily instead, so removing the directory can go on;
 * the kernel frees it when the last user goes.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of mountsUnder(dir)) {
    try {
      await run('umount', [point], { timeout: 30_000 });
    } catch {
      await run('umount', ['-l', point], { timeout: 30_000 }).catch(() => undefined);
    }
  }
}

/** Synchronous `unmountUnder` with lazy detach, for process-exit handlers. */
export function unmountUnderSync(dir: string): void {
  for (const point of mountsUnder(dir)) spawnSync('umount', ['-l', point], { stdio: 'ignore', timeout: 10_000 });
}
