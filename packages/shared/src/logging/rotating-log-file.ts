import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import { ConfigError } from '../errors/index.js';

export type { RotatingFileStream } from 'rotating-file-stream';

/** What `openRotatingLogFile` needs from the [logging] settings. */
export interface RotatingLogFileOptions {
  /** The live file; rotated ones are FILE.1 (newest) … FILE.N. */
  file: string;
  /** Size that triggers a rotation. */
  maxLogSizeBytes: number;
  /** N: rotated files kept besides the live one. */
  logFilesToKeep: number;
  /** Named in the ConfigError about `logging.file`. */
  configSource: string;
}

/**
 * A log file rotated by size the way logrotate does it: FILE is always the
 * live file (so `tail -F FILE` follows it), and a rotation renames
 * FILE.(N-1) → FILE.N, …, FILE → FILE.1 (newest first), dropping the oldest.
 * Writes are asynchronous; `closeLogger` ends the stream so nothing queued is
 * lost at exit.
 *
 * @throws ConfigError naming `logging.file` when the directory cannot be
 *   created or the file cannot be opened for writing
 */
export async function openRotatingLogFile(opts: RotatingLogFileOptions): Promise<RotatingFileStream> {
  const fail = (err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([{ file: opts.configSource, key: 'logging.file', value: opts.file, rule: `cannot write the log file (${code})` }], { cause: err });
  };
  try {
    mkdirSync(dirname(opts.file), { recursive: true });
    accessSync(dirname(opts.file), constants.W_OK);
  } catch (err) {
    fail(err);
  }
  const stream = createStream(opts.file, {
    size: `${opts.maxLogSizeBytes}B`,
    // Classical logrotate numbering; the value is logrotate's `rotate N`.
    rotate: opts.logFilesToKeep,
  });
  // The stream opens (or fails to) asynchronously; a daemon must know before it logs "started".
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  }).catch(fail);
  return stream;
}
