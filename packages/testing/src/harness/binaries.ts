import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian puts the servers in sbin, which a non-root PATH usually lacks. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of the first of `names` found on PATH or in the sbin dirs; throws naming the package. */
export function findBinary(names: readonly string[], debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here; keep looking.
      }
    }
  }
  throw new Error(
    `none of ${names.join(', ')} found on PATH or in ${EXTRA_DIRS.join(':')}; ` +
      `install ${debianPackage} (apt-get install ${debianPackage}) or set the matching SMGR_TEST_*_URL`,
  );
}
