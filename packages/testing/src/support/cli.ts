/**
 * Running the compiled smgr CLI (and other commands) from cross-service
 * tests, with only the environment a test gives it: no HOME config file, no
 * inherited SMGR_CLI_*.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { Fleet, Role } from './operator-api.js';
import { ROOT } from './smgr.js';

export const CLI_MAIN = join(ROOT, 'packages/cli/dist/main.js');

export interface CommandRun {
  /** The exit code; -1 when the command did not exit by itself (killed on timeout, not found). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Runs the CLI under this umask (through /bin/sh), e.g. '000' for a careless one. */
  umask?: string;
  /** Default 60 s. */
  timeoutMs?: number;
}

/** `cmd ARGS` with PATH and `env` only; resolves with its exit code and output, never rejects. */
export function runCommand(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CommandRun> {
  return new Promise((done) => {
    execFile(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** `smgr ARGS` with PATH and `env` only; HOME belongs in `env` (an empty dir: no config file). */
export function runCli(args: string[], env: Record<string, string>, opts: RunOptions = {}): Promise<CommandRun> {
  if (opts.umask === undefined) return runCommand(process.execPath, [CLI_MAIN, ...args], env, opts.timeoutMs);
  return runCommand('/bin/sh', ['-c', `umask ${opts.umask}; exec "$0" "$@"`, process.execPath, CLI_MAIN, ...args], env, opts.timeoutMs);
}

/** The environment that points the CLI at a fleet's API with one role's token. */
export function cliAs(fleet: Fleet, role: Role): { SMGR_CLI_URL: string; SMGR_CLI_TOKEN: string } {
  return { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens[role] };
}

/** `smgr ARGS` against `fleet` as `role`, HOME the fleet's dir. */
export function fleetCli(fleet: Fleet, args: string[], role: Role = 'operator', opts: RunOptions = {}): Promise<CommandRun> {
  return runCli(args, { HOME: fleet.dir, ...cliAs(fleet, role) }, opts);
}
