/**
 * Shared parts of the agent benchmarks (agent-footprint, service-cost,
 * agent-vs-peers, agent-repair-memory): argument checks, what /proc says a
 * process costs, copies of /bin/sleep as services, a controller for agents
 * to connect to, and the machine block of the JSON report.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { Cleanup, ManagedProcess, type TempDir } from '@smgr/testing';
import { ini } from '@smgr/testing/smgr';
import { benchStack } from './controller-bench-support.js';
import { benchArgs, type ArgDefaults, type BenchArgs } from './bench-support.js';

/** Clock ticks per second of /proc/PID/stat times (CLK_TCK; 100 on every Linux this runs on). */
export const CLK_TCK = 100;

/** The named arguments as numbers; throws unless each is a positive number. */
export function positiveNumbers<K extends string>(args: Record<K, string>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of Object.keys(args) as K[]) {
    const v = Number(args[k]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k} must be a positive number`);
    out[k] = v;
  }
  return out;
}

/**
 * The command line of a bench that watches idle agents (agent-footprint,
 * service-cost): --seconds (the window, default 300), --services (20) and
 * --watch-interval (10 s), each a positive number, and the bench's own
 * options `more` (as benchArgs takes them).
 */
export function idleAgentArgs<D extends ArgDefaults>(more: D): { args: BenchArgs<D>; seconds: number; serviceCount: number; watchInterval: number } {
  const idle = { seconds: '300', services: '20', 'watch-interval': '10' };
  const args = benchArgs({ ...idle, ...more });
  const given = args as unknown as typeof idle;
  const n = positiveNumbers({ seconds: given.seconds, services: given.services, 'watch-interval': given['watch-interval'] });
  return { args, seconds: n.seconds, serviceCount: n.services, watchInterval: n['watch-interval'] };
}

/** utime+stime (own) and cutime+cstime (children) of a process, in clock ticks. */
export function cpuTicks(pid: number): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // After the comm field: state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(11) stime(12) cutime(13) cstime(14)
  return { own: f[11]! + f[12]!, children: f[13]! + f[14]! };
}

/** What every report says of the machine it ran on. */
export function machineInfo(): { cpus: number; model: string; memoryMiB: number; node: string; kernel: string } {
  const cpu = cpus();
  return { cpus: cpu.length, model: cpu[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / 1048576), node: process.version, kernel: release() };
}

/**
 * Runs a bench's body with one Cleanup that runs at the end, on failure and
 * on SIGINT (exit 130).
 */
export async function withCleanup(body: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  const stopAll = () => cleanup.run().catch((err) => process.stderr.write(`cleanup: ${(err as Error).message}\n`));
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await body(cleanup);
  } finally {
    await stopAll();
  }
}

/** A temp dir, MariaDB, Redis, a database and a running controller (plaintext gRPC) for the agents of a bench. */
export interface AgentBenchStack {
  tmp: TempDir;
  grpcPort: number;
}

/** Starts what `AgentBenchStack` says (benchStack of controller-bench-support); everything is stopped by `cleanup`. */
export async function agentBenchStack(cleanup: Cleanup): Promise<AgentBenchStack> {
  const stack = await benchStack();
  cleanup.add(() => stack.stop(), 'mariadb, redis, controller');
  await stack.startController();
  return { tmp: stack.tmp, grpcPort: stack.grpcPort };
}

/** An agent bench's stack (agentBenchStack) and `count` services (startSleepServices) named `PREFIXtag-NN`. */
export async function idleAgentStack(cleanup: Cleanup, count: number, prefix: string): Promise<AgentBenchStack & { names: string[] }> {
  const stack = await agentBenchStack(cleanup);
  return { ...stack, names: await startSleepServices(cleanup, stack.tmp.path, count, prefix) };
}

/** One agent of a bench: its node command line and what its config says beyond watchingAgentIni's defaults. */
export interface AgentSpec {
  name: string;
  /** Node flags and the entry point. */
  argv: string[];
  level: string;
  agent?: Record<string, string | number | boolean>;
}

/**
 * Starts one agent per spec (host id `HOSTPREFIX-NAME`), each watching every
 * service of `stack` every `watchInterval` seconds (watchingAgentIni),
 * stopped by `cleanup`; resolves once every one is connected to the controller.
 */
export async function startWatchingAgents(
  cleanup: Cleanup,
  stack: AgentBenchStack & { names: string[] },
  o: { watchInterval: number; hostPrefix: string },
  specs: readonly AgentSpec[],
): Promise<ManagedProcess[]> {
  const dir = stack.tmp.path;
  const procs: ManagedProcess[] = [];
  for (const spec of specs) {
    const slug = spec.name.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 60);
    const config = join(dir, `agent-${slug}.ini`);
    const { grpcPort, names } = stack;
    const stateDir = join(dir, `state-${slug}`);
    const { watchInterval } = o;
    await writeFile(
      config,
      watchingAgentIni({ grpcPort, hostId: `${o.hostPrefix}-${slug}`, stateDir, dir, names, watchInterval, level: spec.level, agent: spec.agent }),
    );
    const proc = ManagedProcess.start(process.execPath, [...spec.argv, '--config', config], { name: `agent-${slug}`, logDir: dir });
    cleanup.add(() => proc.stop(), `agent ${spec.name}`);
    procs.push(proc);
  }
  for (const [i, proc] of procs.entries()) {
    await proc.waitForLine((_l, j) => j?.msg === 'connected to controller', 60_000, `agent ${specs[i]!.name} connects`);
  }
  return procs;
}

/**
 * `count` running services: copies of /bin/sleep under unique names
 * (`PREFIXtag-NN`), so `pgrep -x NAME` finds exactly one each. Returns the
 * names; each copy is at `dir/NAME`.
 */
export async function startSleepServices(cleanup: Cleanup, dir: string, count: number, prefix: string): Promise<string[]> {
  const tag = randomBytes(3).toString('hex');
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}${tag}-${String(i).padStart(2, '0')}`;
    const path = join(dir, name);
    await copyFile('/bin/sleep', path);
    const p = ManagedProcess.start(path, ['infinity'], { name, logDir: dir });
    cleanup.add(() => p.stop('SIGKILL'), name);
    names.push(name);
  }
  return names;
}

/** The INI lines of an agent watching `names` (copies of /bin/sleep in `dir`) every `watchInterval` seconds. */
export function watchingAgentIni(o: {
  grpcPort: number;
  hostId: string;
  stateDir: string;
  dir: string;
  names: readonly string[];
  watchInterval: number;
  level: string;
  agent?: Record<string, string | number | boolean>;
}): string {
  return ini({
    agent: { controller: `127.0.0.1:${o.grpcPort}`, host_id: o.hostId, state_dir: o.stateDir, ...o.agent },
    tls: { insecure: true },
    logging: { level: o.level },
    'process.default': { restart_strategy: 'process', watch: true, watch_interval: o.watchInterval },
    ...Object.fromEntries(o.names.map((n) => [`process.${n}`, { start_command: `${join(o.dir, n)} infinity` }])),
  });
}

/** What `repairBackend` started: a pool on the controller's database, its gRPC port, the controller. */
export interface RepairBackend {
  pool: mysql.Pool;
  grpcPort: number;
  controller: ManagedProcess;
}

/**
 * MariaDB, Redis, a database (and a pool on it) and a controller that polls
 * alarms every 0.2 s, for benches that time repairs. Its stop is pushed onto
 * `cleanups` (run in reverse by the caller); resolves once the controller
 * logged "controller running".
 */
export async function repairBackend(label: string, cleanups: (() => Promise<unknown>)[]): Promise<RepairBackend> {
  const stack = await benchStack({ monitor: { check_interval: 0.2 }, controller: { id: `ctl-${label}` } });
  cleanups.push(() => stack.stop());
  const controller = await stack.startController();
  return { pool: stack.pool, grpcPort: stack.grpcPort, controller };
}
