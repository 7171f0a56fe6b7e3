import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** How a reaped child ended: its exit code, or the number of the signal that killed it. */
export interface ReapedChild {
  pid: number;
  code: number | null;
  signal: number | null;
}

/** The system calls of src/reaper.c. */
export interface ReaperBinding {
  /** prctl(PR_SET_CHILD_SUBREAPER, on): orphans of descendants are re-parented to this process. */
  setChildSubreaper(on: boolean): void;
  /** prctl(PR_GET_CHILD_SUBREAPER). */
  isChildSubreaper(): boolean;
  /**
   * waitpid(pid, WNOHANG): the child's end once it has exited (it is then
   * gone from the process table), null while it runs. Throws an Error with
   * `errno` (ECHILD: not a child of this process, or already reaped).
   */
  reap(pid: number): ReapedChild | null;
  /**
   * malloc_trim(0): the free pages of malloc's arenas go back to the kernel.
   * True when some were released; always false without glibc.
   */
  trimMalloc(): boolean;
}

/**
 * Where the addon may be: beside the bundle that loads it (the packaged
 * artifact's lib/, where scripts/package.mjs copies it) or in this package's
 * node-gyp output (a checkout after `npm ci`).
 */
const CANDIDATES = ['./smgr_reaper.node', '../build/Release/smgr_reaper.node'];

let loaded: ReaperBinding | undefined;

/**
 * Loads the addon (once). Throws an Error naming the places it looked when it
 * is not there: a checkout needs `npm ci` (which builds it with node-gyp), an
 * artifact ships it in lib/.
 */
export function loadReaper(): ReaperBinding {
  if (loaded) return loaded;
  const paths = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url)));
  const path = paths.find((p) => existsSync(p));
  if (!path) {
    throw new Error(`the native reaper addon is missing (looked for ${paths.join(', ')}); in a checkout run \`npm ci\`, which builds it with node-gyp`);
  }
  const module = { exports: {} as ReaperBinding };
  // process.dlopen, not require: the bundler must leave the addon to be found at run time.
  process.dlopen(module, path);
  loaded = module.exports;
  return loaded;
}
