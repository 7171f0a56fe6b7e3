/**
 * The Debian root file system the fleet's systemd hosts boot from: made once
 * by `debootstrap` and cached outside the repository, keyed by everything that
 * decides its content, so a changed package list builds a new one beside the
 * old and an unchanged one is reused run after run.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary } from './binaries.js';
import { unmountUnder } from './mounts.js';

const run = promisify(execFile);

/**
 * The release the hosts run by default: the one this machine runs, so a node
 * binary copied from it finds its glibc.
 */
export const ROOTFS_SUITE = 'bookworm';

/**
 * The Debian releases a host can boot: bookworm (systemd 252) and trixie
 * (systemd 257, whose StartTransientUnit reaches polkit rules with
 * `unit`/`verb` details). A newer glibc runs the bookworm-built node binary.
 */
export const ROOTFS_SUITES = ['bookworm', 'trixie'] as const;
export type RootfsSuite = (typeof ROOTFS_SUITES)[number];

/**
 * What a host needs: systemd as init, D-Bus and polkit (the agent restarts
 * units over D-Bus, authorised by a polkit rule), python3 for Ansible,
 * libstdc++ for the Node runtime, procps for pgrep health checks, man-db so
 * the installed man pages can be read (and `systemd-analyze verify` can check
 * the units' Documentation= entries).
 * libpam-systemd is listed because debootstrap does not resolve polkitd's
 * virtual dependency on `default-logind` (on bookworm and trixie alike).
 */
export const ROOTFS_PACKAGES: readonly string[] = [
  'dbus',
  'iproute2',
  'libpam-systemd',
  'libstdc++6',
  'man-db',
  'polkitd',
  'procps',
  'python3',
  'systemd',
  'systemd-sysv',
];

/** Timers that would only add noise (and disk writes) to a test host. */
const MASKED_UNITS = ['apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'e2scrub_all.timer', 'fstrim.timer'];

/** Bump when the post-install steps below change, so old caches are not reused. */
const RECIPE_VERSION = 2;

export interface RootfsOptions {
  /** Debian release; default ROOTFS_SUITE (bookworm). */
  suite?: RootfsSuite;
  /** Where rootfs trees are cached; default `SMGR_FLEET_CACHE` or /var/cache/smgr-fleet. */
  cacheDir?: string;
  /** Debian mirror URL; default `SMGR_FLEET_MIRROR` or the one this machine's apt config uses. */
  mirror?: string;
  /** Progress lines (a cold build takes about a minute). */
  log?: (message: string) => void;
}

export interface Rootfs {
  /** The cached tree; never booted directly (hosts boot an overlay of it). */
  readonly path: string;
  /** Hash of suite, packages and recipe: the cache entry's name. */
  readonly key: string;
  /** The Debian release in it. */
  readonly suite: RootfsSuite;
  /** True when this call built it (a cold run). */
  readonly built: boolean;
  /** How long the build took; 0 when cached. */
  readonly buildMs: number;
}

/** The cache key: a change to anything that decides the tree's content gives a new one. */
export function rootfsKey(suite: RootfsSuite = ROOTFS_SUITE): string {
  const recipe = JSON.stringify({
    suite,
    variant: 'minbase',
    packages: [...ROOTFS_PACKAGES].sort(),
    masked: MASKED_UNITS,
    recipe: RECIPE_VERSION,
  });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 16);
}

/**
 * The cached rootfs, built first when missing: `debootstrap` into a temp
 * directory beside the cache entry, post-install steps in a chroot, then one
 * rename, so an interrupted build never leaves a tree that looks finished.
 * Concurrent callers (test files in parallel) build once: one holds a lock
 * while the others wait for its tree. Builds of different entries (two
 * suites, an old and a new recipe) run side by side: each has its own lock
 * and its own temp dir, both named after its key.
 */
export async function ensureRootfs(opts: RootfsOptions = {}): Promise<Rootfs> {
  const cacheDir = opts.cacheDir ?? process.env.SMGR_FLEET_CACHE ?? '/var/cache/smgr-fleet';
  const suite = opts.suite ?? ROOTFS_SUITE;
  if (!ROOTFS_SUITES.includes(suite)) throw new Error(`rootfs suite ${JSON.stringify(suite)} is not one of ${ROOTFS_SUITES.join(', ')}`);
  const key = rootfsKey(suite);
  const path = join(cacheDir, `rootfs-${suite}-${key}`);
  if (existsSync(join(path, 'etc', 'smgr-fleet-rootfs'))) return { path, key, suite, built: false, buildMs: 0 };

  const debootstrap = findBinary(['debootstrap'], 'debootstrap');
  const mirror = opts.mirror ?? process.env.SMGR_FLEET_MIRROR ?? debianMirrorFromApt();
  const log = opts.log ?? (() => undefined);
  await mkdir(cacheDir, { recursive: true });
  // Test files running in parallel would each run debootstrap: one builds, the others wait for it.
  const release = await lockBuild(cacheDir, key, log);
  try {
    if (existsSync(join(path, 'etc', 'smgr-fleet-rootfs'))) return { path, key, suite, built: false, buildMs: 0 };
    return await build(cacheDir, path, key, suite, debootstrap, mirror, log);
  } finally {
    await release();
  }
}

async function build(
  cacheDir: string,
  path: string,
  key: string,
  suite: RootfsSuite,
  debootstrap: string,
  mirror: string,
  log: (message: string) => void,
): Promise<Rootfs> {
  await removeStaleBuilds(cacheDir);
  const started = Date.now();
  const work = await mkdtemp(join(cacheDir, `.build-${process.pid}-${key}-`));
  const tree = join(work, 'rootfs');
  try {
    log(`debootstrap ${suite} (${ROOTFS_PACKAGES.join(',')}) from ${mirror} into ${tree}`);
    await runLogged(
      debootstrap,
      ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, suite, tree, mirror],
      join(work, 'debootstrap.out'),
      // debootstrap writes the detail of a failed package configuration here.
      join(tree, 'debootstrap', 'debootstrap.log'),
    );
    await postInstall(tree, key, suite);
    try {
      await rename(tree, path);
    } catch (err) {
      // Another builder finished first: its tree is as good as ours.
      if (!existsSync(join(path, 'etc', 'smgr-fleet-rootfs'))) throw err;
    }
  } finally {
    await unmountUnder(work);
    await rm(work, { recursive: true, force: true });
  }
  const buildMs = Date.now() - started;
  log(`rootfs ${path} built in ${buildMs} ms`);
  return { path, key, suite, built: true, buildMs };
}

/**
 * Leaves the tree ready to be booted many times at once: no machine id (each
 * boot gets its own), no host name (nspawn's machine name is used), no package
 * downloads, no periodic timers, and a marker saying it is complete.
 */
async function postInstall(tree: string, key: string, suite: RootfsSuite): Promise<void> {
  await writeFile(join(tree, 'etc', 'machine-id'), '');
  // dbus's postinst made an id of its own; systemd would adopt it for every host.
  await rm(join(tree, 'var', 'lib', 'dbus', 'machine-id'), { force: true });
  await run('ln', ['-s', '/etc/machine-id', join(tree, 'var', 'lib', 'dbus', 'machine-id')]);
  await rm(join(tree, 'etc', 'hostname'), { force: true });
  await rm(join(tree, 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
  await mkdir(join(tree, 'var', 'cache', 'apt', 'archives', 'partial'), { recursive: true });
  await rm(join(tree, 'var', 'lib', 'apt', 'lists'), { recursive: true, force: true });
  await mkdir(join(tree, 'var', 'lib', 'apt', 'lists', 'partial'), { recursive: true });
  for (const unit of MASKED_UNITS) {
    await rm(join(tree, 'etc', 'systemd', 'system', unit), { force: true });
    await run('ln', ['-s', '/dev/null', join(tree, 'etc', 'systemd', 'system', unit)]);
  }
  await writeFile(join(tree, 'etc', 'smgr-fleet-rootfs'), `${JSON.stringify({ key, suite, packages: ROOTFS_PACKAGES, builtAt: new Date().toISOString() })}\n`);
}

/**
 * A lock directory per cache key, holding the owner's PID; a lock whose owner
 * is gone (killed mid-build) is taken over. Resolves with its release.
 */
async function lockBuild(cacheDir: string, key: string, log: (message: string) => void): Promise<() => Promise<void>> {
  const lock = join(cacheDir, `.lock-${key}`);
  let waiting = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      return () => rm(lock, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // Just created, pid not written yet: wait like for a live owner.
    }
    const orphaned = owner === 0 && Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 60_000;
    if ((owner > 0 && !pidAlive(owner)) || orphaned) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (!waiting) log(`waiting for the rootfs build of pid ${owner || '?'} (${lock})`);
    waiting = true;
    await sleep(1_000);
  }
}

/** Build dirs of builders that are gone (killed mid-debootstrap): unmount their /proc and remove them. */
async function removeStaleBuilds(cacheDir: string): Promise<void> {
  for (const entry of readdirSync(cacheDir)) {
    const m = /^\.build-(\d+)-/.exec(entry);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = join(cacheDir, entry);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The Debian archive this machine's apt already uses (only that mirror is
 * known to be reachable): the first `deb` source whose path ends in /debian.
 */
export function debianMirrorFromApt(): string {
  const texts: string[] = [];
  for (const file of ['/etc/apt/sources.list']) if (existsSync(file)) texts.push(readFileSync(file, 'utf8'));
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.sources') || f.endsWith('.list')) texts.push(readFileSync(join(dir, f), 'utf8'));
    }
  }
  for (const text of texts) {
    // deb822: "URIs: http://host/debian"; one-line: "deb [opts] http://host/debian suite main".
    for (const m of text.matchAll(/^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = m[1]!.replace(/\/+$/, '');
      if (/^https?:\/\//.test(uri) && uri.endsWith('/debian')) return uri;
    }
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list*: set SMGR_FLEET_MIRROR to the archive URL');
}

/** Runs a long command with its output in a file; a failure quotes the file's tail. */
async function runLogged(cmd: string, args: string[], outFile: string, detailFile: string): Promise<void> {
  const out = createWriteStream(outFile);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  await new Promise<void>((resolve) => out.end(resolve));
  if (code !== 0) {
    const tail = (file: string, n: number) =>
      existsSync(file) ? `--- tail of ${file} ---\n${readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n')}` : '';
    throw new Error(`${cmd} ${args.join(' ')} exited ${code}\n${tail(outFile, 15)}\n${tail(detailFile, 25)}`);
  }
}
