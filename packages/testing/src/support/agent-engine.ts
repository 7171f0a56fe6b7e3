/**
 * The agent's engine in the test process (createEngine, as the daemon builds
 * it: JobRunner, strategies, service managers, journal, hold list), driven
 * with real commands and real processes, from a config.ini written the way an operator writes it.
 * No controller and no gRPC: the tests that need those start the daemons.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { create, JobRequestSchema, loadConfig, type Operation, type JobResult, type SmgrConfig } from '@smgr/shared';
import { createEngine, type EngineHooks, type HeldServices, type JobRunner } from '@smgr/agent';
import { makeTempDir, ManagedProcess, waitFor, type Cleanup } from '../harness/index.js';
import { capturedLogger } from './captured-logger.js';
import { findPids, killAll } from './procs.js';
import { uniqueServiceName } from './smgr.js';
type Value = string | number | boolean | readonly string[];
type Section = Record<string, Value>;

/** INI text; a list becomes `key[] = item` lines (a hook's alternatives, env entries). */
function toIni(sections: Record<string, Section>): string {
  return Object.entries(sections)
    .map(([name, keys]) => {
      const lines = Object.entries(keys).flatMap(([k, v]) => (Array.isArray(v) ? v.map((item) => `${k}[] = ${item}`) : [`${k} = ${String(v)}`]));
      return `[${name}]\n${lines.join('\n')}\n`;
    })
    .join('\n');
}

export interface Engine {
  dir: string;
  config: SmgrConfig;
  runner: JobRunner;
  holds: HeldServices;
  /** Log records the engine wrote (pino JSON). */
  logs: Record<string, unknown>[];
  /** Runs one job to its result. */
  run(operation: Operation, service: string, opts?: { version?: string; deadlineMs?: number; jobId?: string }): Promise<JobResult>;
}

/**
 * Starts an engine on `services` (`[process.NAME]` sections; `default` is
 * `[process.default]`) with state in a temp dir the cleanup removes.
 */
export async function startEngine(cleanup: Cleanup, services: Record<string, Section>, agent: Section = {}, hooks: EngineHooks = {}): Promise<Engine> {
  const tmp = await makeTempDir('engine');
  cleanup.add(() => tmp.remove(), 'engine temp dir');
  const sections: Record<string, Section> = {
    agent: { host_id: 'engine-host', state_dir: join(tmp.path, 'state'), ...agent },
    tls: { insecure: true },
  };
  for (const [name, keys] of Object.entries(services)) sections[`process.${name}`] = keys;
  const file = join(tmp.path, 'agent.ini');
  await writeFile(file, toIni(sections));
  const config = loadConfig({ file, env: {} });
  const { log, records: logs } = await capturedLogger('engine');
  const { runner, holds } = createEngine(config, log, hooks);
  return {
    dir: tmp.path,
    config,
    runner,
    holds,
    logs,
    run(operation, service, opts = {}) {
      return runner.handle(
        create(JobRequestSchema, {
          jobId: opts.jobId ?? `t-${randomBytes(6).toString('hex')}`,
          operation,
          service,
          version: opts.version ?? '',
          deadlineMs: opts.deadlineMs ?? 0,
        }),
      );
    },
  };
}

/** Step names of a result, in order. */
export const stepNames = (r: JobResult): string[] => r.steps.map((s) => s.name);

/**
 * A copy of /bin/sleep named `name` in `dir`: a daemon that never forks (so at
 * any moment exactly one process has its name, which a forking shell script
 * cannot promise) and exits on SIGTERM. Start it as `start` (`PATH infinity`).
 */
export async function installSleeper(dir: string, name: string): Promise<{ path: string; start: string }> {
  const path = join(dir, name);
  await copyFile('/bin/sleep', path);
  return { path, start: `${path} infinity` };
}

/**
 * A sleeper under a unique name (`prefix`), already running outside the
 * agent; returns its name, start command, pid and directory. The process and
 * anything else of its name are killed by `cleanup`.
 */
export async function runningSample(cleanup: Cleanup, prefix: string): Promise<{ name: string; start: string; pid: number; dir: string }> {
  const bin = await makeTempDir('bin');
  cleanup.add(() => bin.remove());
  const name = uniqueServiceName(prefix);
  cleanup.add(() => killAll(name), `processes named ${name}`);
  const { path, start } = await installSleeper(bin.path, name);
  const first = ManagedProcess.start(path, ['infinity'], { name });
  cleanup.add(() => first.stop());
  const [pid] = await waitFor(() => (findPids(name).length === 1 ? findPids(name) : null), { timeoutMs: 5_000, message: `${name} running` });
  return { name, start, pid: pid!, dir: bin.path };
}
