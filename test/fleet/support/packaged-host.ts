/**
 * A systemd host (nspawn, the cached Debian rootfs) on a lab of its own,
 * with the packaged smgr (scripts/package.mjs --with-node) bound read-only
 * at /opt/smgr/current: what the fleet tests of the shipped agent boot.
 * Everything is registered with the given Cleanup.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { bootNspawnHost, createNetLab, ensureRootfs, makeTempDir, type Cleanup, type NspawnHost, type NspawnHostOptions } from '@smgr/testing';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');

/** Where a packaged host sees the build. */
export const PACKAGED_ROOT = '/opt/smgr/current';

/** Builds the package with its own Node into `outDir`; resolves with the artifact's path. */
export async function packageWithNode(outDir: string): Promise<string> {
  const packaged = await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--with-node', '--out', outDir], { cwd: ROOT, timeout: 300_000 });
  return JSON.parse(packaged.stdout.trim().split('\n').at(-1)!).artifact as string;
}

/**
 * Boots host `name` (lab host `labHost` on lab `label`) with the package at
 * PACKAGED_ROOT and `binds` besides; `dir` is a temp dir of the test's
 * (the package is built in it).
 */
export async function bootPackagedHost(
  c: Cleanup,
  opts: { name: string; label: string; labHost: string; binds?: NspawnHostOptions['binds']; log?: (m: string) => void },
): Promise<{ host: NspawnHost; dir: string }> {
  const rootfs = await ensureRootfs({ log: opts.log ?? ((m) => console.log(`# ${m}`)) });
  const tmp = await makeTempDir(opts.label, c);
  const artifact = await packageWithNode(join(tmp.path, 'artifact'));
  const lab = await createNetLab(opts.label, c);
  const net = await lab.addHost(opts.labHost);
  const host = await bootNspawnHost({
    name: opts.name,
    rootfs: rootfs.path,
    netnsPath: net.nsPath,
    binds: [{ source: artifact, target: PACKAGED_ROOT, readOnly: true }, ...(opts.binds ?? [])],
  });
  c.add(() => host.stop(), 'nspawn host');
  return { host, dir: tmp.path };
}
