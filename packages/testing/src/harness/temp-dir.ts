import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { keepTempDirs, trackDir, untrackDir } from './safety-net.js';

export interface TempDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /** Removes the directory and everything in it; idempotent. Kept when `SMGR_TEST_KEEP_TMP=1`. */
  remove(): Promise<void>;
}

/**
 * Creates `$TMPDIR/smgr-<label>-XXXXXX`. It is removed by `remove()` or, failing
 * that, when the test process exits. With `cleanup`, `remove()` is registered
 * there at once.
 */
export async function makeTempDir(label: string, cleanup?: Cleanup): Promise<TempDir> {
  const safe = label.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 40) || 'tmp';
  const path = await mkdtemp(join(tmpdir(), `smgr-${safe}-`));
  trackDir(path);
  const dir: TempDir = {
    path,
    async remove() {
      untrackDir(path);
      if (keepTempDirs()) return;
      // Retries: a server killed a moment ago may still be closing its files.
      await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
  cleanup?.add(() => dir.remove(), `temp dir ${path}`);
  return dir;
}
