/**
 * Real systemd hosts for fleet tests (packages/testing/README.md): a Debian rootfs
 * booted by `systemd-nspawn -b` inside a network namespace of a NetLab. Each
 * host boots its own overlay of the cached rootfs (nspawn-rootfs.ts), so the
 * cache stays pristine and a host's writes go to a temp dir removed with it.
 *
 *   const rootfs = await ensureRootfs();
 *   const h1 = await lab.addHost('h1');
 *   const host = await bootNspawnHost({ name: 'h1', rootfs: rootfs.path, netnsPath: h1.nsPath });
 *   cleanup.add(() => host.stop(), 'nspawn h1');
 *   await host.exec(['systemctl', 'is-active', 'dbus.service']);
 *
 * Needs root and systemd-nspawn (Debian: systemd-container). The host is not
 * registered with machined (`--register=no --keep-unit`): this machine's init
 * need not be systemd. It is driven with `nsenter -t LEADER -a`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { findLeader, killQuietly, pidAlive, pidsUsingRoot } from './nspawn-procs.js';
import { ManagedProcess } from './managed-process.js';
import { unmountUnder, unmountUnderSync } from './mounts.js';
import { keepTempDirs } from './safety-net.js';
import { waitFor } from './wait-for.js';

export interface NspawnHostOptions {
  /** Machine (and host) name: `[a-z0-9-]`, at most 20 characters. */
  name: string;
  /** The cached rootfs (ensureRootfs().path); mounted read-only as the overlay's lower layer. */
  rootfs: string;
  /** Network namespace to boot in (NetHost.nsPath). */
  netnsPath: string;
  /** How long boot may take until `systemctl is-system-running` settles; default 60 s. */
  bootTimeoutMs?: number;
  /**
   * Files or dirs of this machine made visible inside (nspawn --bind): e.g. the
   * UNIX sockets of the test's MariaDB and Redis for a controller in the host.
   */
  binds?: readonly { source: string; target: string; readOnly?: boolean }[];
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Default 60 s; the command is killed after it. */
  timeoutMs?: number;
  /** Resolve with a non-zero exit instead of rejecting. */
  allowFailure?: boolean;
}

/** A booted systemd host. */
export interface NspawnHost {
  readonly name: string;
  /** PID (in this namespace) of the host's init: the target for nsenter and community.docker.nsenter. */
  readonly leaderPid: number;
  /** The host's root file system as seen from here (the overlay mount): read its files directly. */
  readonly root: string;
  /** The systemd-nspawn process; its output is the host's console. */
  readonly nspawn: ManagedProcess;
  /** What `systemctl is-system-running` said once boot settled ("running" or "degraded"). */
  readonly bootState: string;
  /**
   * Runs argv inside every namespace of the host, with a clean environment
   * (PATH, LANG only); rejects on a non-zero exit unless `allowFailure`.
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** `systemctl ARGS` inside the host; resolves with stdout. */
  systemctl(...args: string[]): Promise<string>;
  /** Powers the host off (SIGKILL of its init after 15 s), unmounts and removes its overlay. Idempotent. */
  stop(): Promise<void>;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,19}$/;
/** All overlays live here, one dir per host: `<owner pid>-<name>-XXXXXX`. */
const BASE_DIR = join(tmpdir(), 'smgr-nspawn');
const INNER_ENV = ['env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8'];

/** Hosts of this process still up: the exit handler kills their init and unmounts their overlay. */
const live = new Map<string, { leaderPid: number | undefined; nspawnPid: number | undefined }>();
let exitHandlerInstalled = false;

/** A container whose PID 1 is a command of the test's (systemd-nspawn without --boot): no systemd inside. */
export interface NspawnContainerOptions {
  /** Machine name: `[a-z0-9-]`, at most 20 characters. */
  name: string;
  rootfs: string;
  netnsPath: string;
  binds?: NspawnHostOptions['binds'];
  /** The container's PID 1: argv inside the container (nspawn runs it as PID 1, not under a stub init). */
  command: string[];
  /** User to run it as (nspawn --user; must exist in the container's /etc/passwd, see `prepare`). */
  user?: string;
  /** Environment of the command (nspawn --setenv). */
  env?: Record<string, string>;
  /** Runs on the overlay (the container's root as seen from here) before nspawn starts: users, files. */
  prepare?: (root: string) => Promise<void>;
}

/** A running container started by startNspawnContainer. */
export interface NspawnContainer {
  readonly name: string;
  /** PID (in this namespace) of the container's PID 1: the command. */
  readonly leaderPid: number;
  readonly root: string;
  /** The systemd-nspawn process: its output is the command's, its exit status the command's. */
  readonly nspawn: ManagedProcess;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Stops nspawn (SIGKILL of the command if needed), unmounts and removes the overlay. Idempotent. */
  stop(): Promise<void>;
}

interface Launched {
  dir: string;
  merged: string;
  nspawn: ManagedProcess;
  leaderPid: number;
  teardown: () => Promise<void>;
}

/**
 * The overlay of `rootfs`, systemd-nspawn on it in the network namespace
 * with `args` (after the common ones), and its PID 1 found. On failure
 * everything made so far is undone.
 */
async function launch(
  opts: { name: string; rootfs: string; netnsPath: string; binds?: NspawnHostOptions['binds']; prepare?: (root: string) => Promise<void> },
  args: string[],
  trailing: string[],
): Promise<Launched> {
  if (!NAME_RE.test(opts.name)) throw new Error(`nspawn host name ${JSON.stringify(opts.name)} must match ${NAME_RE}`);
  if (!existsSync(opts.netnsPath)) throw new Error(`network namespace ${opts.netnsPath} does not exist`);
  const nspawnBin = findBinary(['systemd-nspawn'], 'systemd-container');
  installExitHandler();
  await sweepStale();
  await mkdir(BASE_DIR, { recursive: true });
  const dir = await mkdtemp(join(BASE_DIR, `${process.pid}-${opts.name}-`));
  const entry = { leaderPid: undefined as number | undefined, nspawnPid: undefined as number | undefined };
  live.set(dir, entry);
  const merged = join(dir, 'root');
  let nspawn: ManagedProcess | undefined;
  const teardown = async (): Promise<void> => {
    await stopHost(dir, entry, nspawn);
  };
  try {
    for (const sub of ['upper', 'work', 'root']) mkdirSync(join(dir, sub));
    await execOk('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${opts.rootfs},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`, merged]);
    await opts.prepare?.(merged);
    nspawn = ManagedProcess.start(
      nspawnBin,
      [
        ...args,
        '--keep-unit',
        '--register=no',
        `--machine=${opts.name}`,
        // Without it every host derives the same machine id from this VM's hardware UUID.
        `--uuid=${randomUUID()}`,
        `--network-namespace-path=${opts.netnsPath}`,
        ...(opts.binds ?? []).map((b) => `--bind${b.readOnly ? '-ro' : ''}=${b.source}:${b.target}`),
        `--directory=${merged}`,
        ...trailing,
      ],
      { name: `nspawn-${opts.name}`, logDir: dir },
    );
    entry.nspawnPid = nspawn.pid;
    const started = nspawn;
    const leaderPid = await waitFor(() => (started.running ? findLeader(started.pid!) : Promise.reject(new Error('nspawn exited'))), {
      timeoutMs: 20_000,
      message: `init of nspawn host ${opts.name}`,
      context: () => started.tail(),
    });
    entry.leaderPid = leaderPid;
    return { dir, merged, nspawn: started, leaderPid, teardown };
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
}

/**
 * Boots a host and waits until systemd has finished starting its units.
 * Register `host.stop()` with the test's Cleanup right away.
 */
export async function bootNspawnHost(opts: NspawnHostOptions): Promise<NspawnHost> {
  if (!existsSync(join(opts.rootfs, 'sbin', 'init'))) throw new Error(`${opts.rootfs} is not a bootable rootfs (no /sbin/init)`);
  const { merged, nspawn: started, leaderPid, teardown } = await launch(opts, ['--boot', '--console=passive'], []);
  try {
    const exec = (argv: string[], o: ExecOptions = {}) => nsExec(leaderPid, argv, o);
    // is-system-running fails until systemd's bus socket exists; --wait then blocks until boot settles.
    const bootState = await waitFor(
      async () => {
        const r = await exec(['systemctl', 'is-system-running', '--wait'], { allowFailure: true, timeoutMs: 30_000 });
        const state = r.stdout.trim();
        return state === 'running' || state === 'degraded' ? state : undefined;
      },
      { timeoutMs: opts.bootTimeoutMs ?? 60_000, intervalMs: 100, message: `nspawn host ${opts.name} booted`, context: () => started.tail() },
    );
    return {
      name: opts.name,
      leaderPid,
      root: merged,
      nspawn: started,
      bootState,
      exec,
      async systemctl(...args: string[]) {
        return (await exec(['systemctl', '--no-pager', ...args])).stdout;
      },
      stop: teardown,
    };
  } catch (err) {
    await teardown().catch(() => undefined);
    throw err;
  }
}

/**
 * Starts a container whose PID 1 is `command` (no --boot, no systemd: the
 * way a container runtime runs an image's entrypoint), with its output on
 * nspawn's (--console=pipe). Register `container.stop()` right away.
 */
export async function startNspawnContainer(opts: NspawnContainerOptions): Promise<NspawnContainer> {
  const args = ['--console=pipe', ...(opts.user ? [`--user=${opts.user}`] : []), ...Object.entries(opts.env ?? {}).map(([k, v]) => `--setenv=${k}=${v}`)];
  const { merged, nspawn, leaderPid, teardown } = await launch(opts, args, ['--', ...opts.command]);
  return {
    name: opts.name,
    leaderPid,
    root: merged,
    nspawn,
    exec: (argv, o = {}) => nsExec(leaderPid, argv, o),
    stop: teardown,
  };
}

function nsExec(leaderPid: number, argv: string[], opts: ExecOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'nsenter',
      ['-t', String(leaderPid), '-a', '--', ...INNER_ENV, ...argv],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        if (code === 0 || opts.allowFailure) {
          resolve({ code, stdout, stderr });
          return;
        }
        reject(new Error(`in host (init pid ${leaderPid}): ${argv.join(' ')} failed (code ${code}): ${stderr.trim() || err?.message}\n${stdout.trim()}`));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

async function stopHost(
  dir: string,
  entry: { leaderPid: number | undefined; nspawnPid: number | undefined },
  nspawn: ManagedProcess | undefined,
): Promise<void> {
  if (!live.has(dir)) return;
  const errors: unknown[] = [];
  const step = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  // SIGTERM makes nspawn power the container off cleanly (well under a second here).
  if (nspawn) await step(() => nspawn.stop('SIGTERM', 15_000));
  // A SIGKILLed nspawn leaves its init running; killing a PID namespace's init ends everything in it.
  if (entry.leaderPid !== undefined) {
    const leader = entry.leaderPid;
    await step(async () => {
      killQuietly(leader);
      await waitFor(() => !pidAlive(leader), { timeoutMs: 15_000, message: `init ${leader} gone` });
    });
  }
  await step(() => unmountUnder(dir));
  if (!keepTempDirs()) await step(() => rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 }));
  live.delete(dir);
  if (errors.length > 0) throw new AggregateError(errors, `stopping nspawn host in ${dir}: ${errors.length} steps failed`);
}

/**
 * Overlays left by a test process that died without cleaning up (SIGKILL):
 * their nspawn and init are killed and the overlay unmounted and removed.
 * Only dirs whose owner PID is gone are touched.
 */
async function sweepStale(): Promise<void> {
  if (!existsSync(BASE_DIR)) return;
  for (const entry of readdirSync(BASE_DIR)) {
    const owner = Number(/^(\d+)-/.exec(entry)?.[1]);
    if (!owner || pidAlive(owner)) continue;
    const dir = join(BASE_DIR, entry);
    for (const pid of pidsUsingRoot(join(dir, 'root'))) killQuietly(pid);
    await waitFor(() => pidsUsingRoot(join(dir, 'root')).length === 0, { timeoutMs: 15_000, message: `stale host in ${dir} gone` }).catch(() => undefined);
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  const sweep = (): void => {
    for (const [dir, entry] of live) {
      if (entry.nspawnPid !== undefined) killQuietly(entry.nspawnPid);
      if (entry.leaderPid !== undefined) killQuietly(entry.leaderPid);
      // Init dies asynchronously; a lazy unmount lets the dir go now and the kernel free the rest.
      spawnSync('sleep', ['0.5']);
      unmountUnderSync(dir);
      if (!keepTempDirs()) spawnSync('rm', ['-rf', '--one-file-system', dir], { stdio: 'ignore' });
    }
    live.clear();
  };
  process.on('exit', sweep);
  // Death by signal skips 'exit' (see safety-net.ts): clean up, then re-raise if nobody else will.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      sweep();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function execOk(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}
