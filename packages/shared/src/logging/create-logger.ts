import { writeSync } from 'node:fs';
import { pino, type Logger, type StreamEntry } from 'pino';
import type { LoggingConfig } from '../config/index.js';
import { createPrettyStream } from './pretty-stream.js';
import { openRotatingLogFile, type RotatingFileStream } from './rotating-log-file.js';

export type { Logger } from 'pino';

/** How lines look on the destination: JSON (journald, pipes) or text for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Options of `createLogger`. */
export interface CreateLoggerOptions {
  /** Logged as `name` on every line, e.g. "smgr-agent". */
  name: string;
  /** pino level: fatal, error, warn, info, debug, trace (or silent). */
  level: string;
  /** Also write JSON lines to this file, rotated by size as FILE.1 (newest) … FILE.N; undefined: no file. */
  file?: string;
  /** Size at which the file rotates. */
  maxLogSizeBytes: number;
  /** Rotated files kept besides the live one (logrotate's `rotate N`). */
  logFilesToKeep: number;
  /** Where lines go besides the file; default stdout (journald). */
  destination?: NodeJS.WritableStream;
  /**
   * Format on `destination`. Default: `pretty` when writing to stdout and
   * stdout is a terminal, else `json`. The file is always JSON.
   */
  format?: LogFormat;
  /** Named in a ConfigError about `logging.file`; default "configuration". */
  configSource?: string;
}

/** Secrets never written to logs, at the top level or one object down. */
const REDACT = ['password', '*.password', 'token', '*.token'];

const fileStreams = new WeakMap<Logger, RotatingFileStream>();

/**
 * A pino logger writing to `destination` (stdout: JSON lines, or readable
 * text on a terminal) and, when `file` is set, JSON lines to a file rotated
 * by size as logrotate does. Everything runs in-process through
 * pino.multistream: a pino.transport would add a worker thread, which costs
 * memory on every agent.
 *
 * @throws ConfigError naming `logging.file` when the file's directory cannot
 *   be created or the file cannot be opened for writing
 */
export async function createLogger(opts: CreateLoggerOptions): Promise<Logger> {
  const toStdout = opts.destination === undefined;
  const format = opts.format ?? (toStdout && process.stdout.isTTY ? 'pretty' : 'json');
  const destination =
    format === 'pretty'
      ? await createPrettyStream((text) => (opts.destination ? opts.destination.write(text) : writeSync(1, text)), toStdout && process.stdout.isTTY === true)
      : // pino's own stdout writer (fd 1, synchronous): the lines before a process.exit are not lost.
        (opts.destination ?? pino.destination({ dest: 1, sync: true }));
  // Streams take everything and the logger's level filters, so `log.level = 'debug'` works at run time.
  const streams: StreamEntry[] = [{ level: 'trace', stream: destination }];
  let file: RotatingFileStream | undefined;
  if (opts.file !== undefined && opts.file !== '') {
    file = await openRotatingLogFile({
      file: opts.file,
      maxLogSizeBytes: opts.maxLogSizeBytes,
      logFilesToKeep: opts.logFilesToKeep,
      configSource: opts.configSource ?? 'configuration',
    });
    streams.push({ level: 'trace', stream: file });
  }
  const logger = pino({ name: opts.name, level: opts.level, redact: REDACT }, pino.multistream(streams));
  if (file !== undefined) {
    fileStreams.set(logger, file);
    // A full disk later must not crash the daemon: say so once on stdout and keep running without the file.
    let reported = false;
    file.on('error', (err: NodeJS.ErrnoException) => {
      if (reported) return;
      reported = true;
      logger.error({ file: opts.file, code: err.code, err: err.message }, 'log file write failed; logging to stdout only');
    });
  }
  return logger;
}

/** `createLogger` from the validated [logging] section. */
export function loggerFromConfig(
  name: string,
  cfg: LoggingConfig,
  extra: Pick<CreateLoggerOptions, 'destination' | 'configSource' | 'format'> = {},
): Promise<Logger> {
  return createLogger({
    name,
    level: cfg.level,
    ...(cfg.file === undefined ? {} : { file: cfg.file }),
    maxLogSizeBytes: cfg.maxLogSizeBytes,
    logFilesToKeep: cfg.logFilesToKeep,
    ...extra,
  });
}

/**
 * Flushes a logger and closes its log file, if any, once every line queued
 * for it is written. Idempotent. Daemons call it last before exiting; tests
 * call it so temp dirs can be removed.
 */
export async function closeLogger(logger: Logger): Promise<void> {
  const file = fileStreams.get(logger);
  fileStreams.delete(logger);
  logger.flush();
  if (file === undefined || file.destroyed) return;
  await new Promise<void>((resolve) => {
    file.once('finish', () => resolve());
    file.once('close', () => resolve());
    file.once('error', () => resolve());
    file.end();
  });
}
