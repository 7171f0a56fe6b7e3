import { closeSync, fchmodSync, mkdirSync, openSync, writeSync, chmodSync } from 'node:fs';

/** Owner read/write only: journals, outboxes and token files hold what others must not read. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * openSync that leaves the file 0600 whatever the umask, and makes an
 * existing file 0600 too (fchmod is not subject to the umask; one written
 * by an older version keeps no wider mode).
 */
export function openPrivateSync(path: string, flags: string): number {
  const fd = openSync(path, flags, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Writes `data` to `path` (created or truncated) as a 0600 file. `flags` 'wx' refuses an existing file. */
export function writePrivateFileSync(path: string, data: string, flags = 'w'): void {
  const fd = openPrivateSync(path, flags);
  try {
    const buf = Buffer.from(data);
    for (let at = 0; at < buf.length; ) at += writeSync(fd, buf, at);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p; a directory this call creates is 0700 whatever the umask (one that exists is left as it is). */
export function mkdirPrivateSync(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first !== undefined) chmodSync(dir, PRIVATE_DIR_MODE);
}
