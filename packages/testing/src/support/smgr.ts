/**
 * Launching real smgr daemons (compiled JS) for cross-service tests, with
 * configs written the way an operator would write them.
 */
import { copyFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ManagedProcess } from '../harness/index.js';

export const ROOT = resolve(import.meta.dirname, '../../../..');
export const CONTROLLER_MAIN = join(ROOT, 'services/controller/dist/main.js');
export const AGENT_MAIN = join(ROOT, 'services/agent/dist/main.js');
export const SAMPLE_SERVICE = join(ROOT, 'test/fixtures/sample-service.sh');

export { ini, writeConfig } from '../config.js';

/** A process name that is unique per test and fits the kernel's 15-byte comm. */
export function uniqueServiceName(prefix = 'svc'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.slice(0, 15);
}

/** Copies the sample service into `dir` under `name`; returns its path. */
export async function installSampleService(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await copyFile(SAMPLE_SERVICE, path);
  await chmod(path, 0o755);
  return path;
}

export function startController(configPath: string, name = 'controller', extraArgs: string[] = []): ManagedProcess {
  return ManagedProcess.start(process.execPath, [CONTROLLER_MAIN, '--config', configPath, ...extraArgs], { name });
}

export function startAgent(configPath: string, name = 'agent', opts: { cwd?: string; prefix?: readonly string[] } = {}): ManagedProcess {
  const { prefix = [], ...rest } = opts;
  const argv = [process.execPath, AGENT_MAIN, '--config', configPath];
  // A prefix runs the agent through another command, e.g. `unshare --pid --fork --mount-proc` (PID 1 of a namespace).
  return ManagedProcess.start(prefix[0] ?? argv[0]!, [...prefix.slice(1), ...(prefix.length > 0 ? argv : argv.slice(1))], { name, ...rest });
}

/** Waits until a pino JSON line with this `msg` (and optional field match) appears. */
export function waitForLog(
  p: ManagedProcess,
  msg: string,
  timeoutMs = 20_000,
  match: (json: Record<string, unknown>) => boolean = () => true,
): Promise<unknown> {
  return p.waitForLine((_line, json) => json?.msg === msg && match(json), timeoutMs, `log "${msg}" from ${p.name}`);
}
