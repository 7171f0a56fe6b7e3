import { ChildProcess } from 'node:child_process';

/**
 * The children libuv waits for: every process started through
 * node:child_process (spawn, exec, execFile and fork all go through
 * ChildProcess.prototype.spawn), from the moment it is forked until its
 * 'exit' event, which Node emits only after libuv's own waitpid() of it.
 *
 * An orphan reaper must never reap one of these: libuv waits for its children
 * by pid, so a child reaped by someone else loses its exit status and never
 * emits 'exit' (a command the agent runs would hang until its timeout).
 * Node keeps no public list of them, hence this record, kept by wrapping
 * ChildProcess.prototype.spawn once per process. spawnSync() children are not
 * recorded and need not be: the event loop (and so the reaper) does not run
 * until spawnSync has waited for them itself.
 */
const live = new Set<number>();
let installed = false;

type SpawnMethod = (this: ChildProcess, ...args: unknown[]) => unknown;

/** Starts recording; idempotent. Call before the first child is started. */
export function trackSpawnedChildren(): void {
  if (installed) return;
  installed = true;
  const proto = ChildProcess.prototype as unknown as { spawn: SpawnMethod };
  const original = proto.spawn;
  proto.spawn = function spawn(this: ChildProcess, ...args: unknown[]): unknown {
    const result = original.apply(this, args);
    // Synchronous from fork() to here: no event-loop turn (so no reaper pass) in between.
    const pid = this.pid;
    if (pid !== undefined) {
      live.add(pid);
      this.once('exit', () => live.delete(pid));
    }
    return result;
  };
}

/** True while `pid` is a child_process child that libuv has not reaped yet. */
export function isSpawnedChild(pid: number): boolean {
  return live.has(pid);
}

/** How many such children there are now (for logs and tests). */
export function spawnedChildCount(): number {
  return live.size;
}
