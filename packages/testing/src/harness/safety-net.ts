/**
 * Process-level safety net: every child process and temp dir the harness
 * creates is registered here, and whatever is still registered when the test
 * process exits is SIGKILLed (by PID, never by name) and removed.
 *
 * Cleanups registered by tests are the normal path; this only catches a test
 * file that crashed, threw in `before()`, or was cut off by the runner's
 * timeout, so that nothing keeps running or filling the disk afterwards.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const livePids = new Set<number>();
const liveDirs = new Set<string>();
const liveNetns = new Set<string>();
let installed = false;

/** True when temp dirs should be left on disk for debugging (`SMGR_TEST_KEEP_TMP=1`). */
export function keepTempDirs(): boolean {
  return process.env.SMGR_TEST_KEEP_TMP === '1';
}

export function trackPid(pid: number): void {
  install();
  livePids.add(pid);
}

export function untrackPid(pid: number): void {
  livePids.delete(pid);
}

export function trackDir(path: string): void {
  install();
  liveDirs.add(path);
}

export function untrackDir(path: string): void {
  liveDirs.delete(path);
}

/** A network namespace (netns.ts) to delete with `ip netns del` if the test process exits first. */
export function trackNetns(name: string): void {
  install();
  liveNetns.add(name);
}

export function untrackNetns(name: string): void {
  liveNetns.delete(name);
}

/** Synchronous: the `exit` event allows no async work. */
function killEverything(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
  livePids.clear();
  // Namespaces after the processes: a namespace lives on while a process is inside it.
  for (const ns of liveNetns) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      // Already gone, or never created.
    }
  }
  liveNetns.clear();
  if (keepTempDirs()) return;
  for (const dir of liveDirs) {
    try {
      // A just-killed mariadbd may still be closing files; retry briefly.
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    } catch {
      // Best effort: exit must not throw.
    }
  }
  liveDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killEverything);
  // Death by signal skips 'exit'. Clean up, then re-raise so the exit status
  // still says "killed by SIGx" when nobody else handles the signal.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killEverything();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
