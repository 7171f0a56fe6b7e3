#!/usr/bin/env node
/**
 * smgr: the operator CLI over the controller's HTTP API (exit codes: docs/architecture.md).
 * Exit codes: 0 ok, 1 failure, 2 usage, 69 unavailable, 78 config.
 */
import { CommanderError } from 'commander';
import { ExitCode, SmgrError } from '@smgr/shared';
import { CliError } from './cli-error.js';
import type { CliIo } from './context.js';
import { buildProgram } from './program.js';
import { safeText } from './format/sanitize.js';

/** Runs `smgr ARGS` and resolves with the exit code. */
export async function main(args: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...args], { from: 'user' });
    return Number(process.exitCode ?? ExitCode.OK);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; everything else commander rejects is a usage error.
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? ExitCode.OK : ExitCode.USAGE;
    }
    if (err instanceof CliError) {
      io.stderr.write(safeText(`smgr: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`));
      return err.exitCode;
    }
    if (err instanceof SmgrError) {
      io.stderr.write(safeText(`smgr: ${err.message}\n`));
      return err.exitCode;
    }
    io.stderr.write(safeText(`smgr: ${(err as Error).message ?? String(err)}\n`));
    return ExitCode.FAILURE;
  }
}

/**
 * A reader that stops early (`smgr --help | head -1`) is not a failure: the
 * first EPIPE on stdout or stderr ends the process quietly with the exit code
 * so far (0 unless the command had already failed), instead of an unhandled
 * 'error' event and its stack trace.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(Number(process.exitCode ?? ExitCode.OK));
    throw err;
  });
}
exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
