import type { ExitCode } from '@smgr/shared';

/** A failure the CLI reports in one line and exits with `exitCode` (exit codes: docs/architecture.md). */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Printed on a second line, e.g. how to fix it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
