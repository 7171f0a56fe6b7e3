import { ConfigError, ExitCode, SmgrError } from '../errors/index.js';

/** What a daemon that could not start says and how it exits. */
export interface StartFailure {
  /** Exit codes (docs/architecture.md): 78 configuration, 69 dependency down, 1 anything unforeseen; never 0. */
  exitCode: ExitCode;
  /** Stable error code for the log (e.g. REDIS_UNAVAILABLE). */
  code: string;
  /** One plain line: what failed, the key, the fix. */
  line: string;
}

/**
 * The one line and the exit code for an error that ended a start. smgr's own
 * errors carry both (their messages name the key and the fix); anything else
 * is a failure nobody planned for: exit 1 with its message.
 */
export function describeStartFailure(err: unknown): StartFailure {
  if (err instanceof ConfigError) {
    return { exitCode: ExitCode.CONFIG, code: err.code, line: `invalid configuration: ${oneLine(err.message)}` };
  }
  if (err instanceof SmgrError) {
    return { exitCode: err.exitCode === ExitCode.OK ? ExitCode.FAILURE : err.exitCode, code: err.code, line: oneLine(err.message) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: ExitCode.FAILURE, code: 'START_FAILED', line: `failed to start: ${oneLine(message) || 'unknown error'}` };
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}
