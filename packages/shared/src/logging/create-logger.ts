/// <reference path="./pino-roll.d.ts" />
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger, type StreamEntry } from 'pino';
import type pinoRoll from 'pino-roll';
import { ConfigError } from '../errors/index.js';
import type { LoggingConfig } from '../config/index.js';

export type { Logger } from 'pino';

type RollStream = Awaited<ReturnType<typeof pinoRoll>>;

/** Options of `createLogger`. */
export interface CreateLoggerOptions {
  /** Logged as `name` on every line, e.g. "smgr-agent". */
  name: string;
  /** pino level: fatal, error, warn, info, debug, trace (or silent). */
  level: string;
  /** Also write to this file, rotated by size as FILE.1, FILE.2, ...; undefined: no file. */
  file?: string;
  /** Size at which the file rotates. */
  maxLogSizeBytes: number;
  /** Log files kept on disk, the one being written included; older ones are deleted. */
  logFilesToKeep: number;
  /** Where JSON lines go besides the file; default stdout (journald). */
  destination?: NodeJS.WritableStream;
  /** Named in a ConfigError about `logging.file`; default "configuration". */
  configSource?: string;
}

/** Secrets never written to logs, at the top level or one object down. */
const REDACT = ['password', '*.password', 'token', '*.token'];

const fileStreams = new WeakMap<Logger, RollStream>();

/**
 * A pino logger writing JSON lines to `destination` (stdout) and, when `file`
 * is set, to a size-rotated file. The file stream is pino-roll used
 * in-process through pino.multistream: a pino.transport would add a worker
 * thread, which costs memory on every agent.
 *
 * @throws ConfigError naming `logging.file` when the file's directory cannot
 *   be created or the file cannot be opened for writing
 */
export async function createLogger(opts: CreateLoggerOptions): Promise<Logger> {
  // pino's own stdout writer (fd 1, synchronous): the lines before a process.exit are not lost.
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: true });
  // Streams take everything and the logger's level filters, so `log.level = 'debug'` works at run time.
  const streams: StreamEntry[] = [{ level: 'trace', stream: destination }];
  let file: RollStream | undefined;
  if (opts.file !== undefined && opts.file !== '') {
    file = await openRotatingFile(opts.file, opts);
    streams.push({ level: 'trace', stream: file });
  }
  const logger = pino({ name: opts.name, level: opts.level, redact: REDACT }, pino.multistream(streams));
  if (file !== undefined) {
    fileStreams.set(logger, file);
    // A full disk later must not crash the daemon: say so on stdout and keep running.
    file.on('error', (err: NodeJS.ErrnoException) => {
      destination.write(
        `${JSON.stringify({ level: 50, time: Date.now(), name: opts.name, file: opts.file, code: err.code, msg: 'log file write failed' })}\n`,
      );
    });
  }
  return logger;
}

/** `createLogger` from the validated [logging] section. */
export function loggerFromConfig(
  name: string,
  cfg: LoggingConfig,
  extra: Pick<CreateLoggerOptions, 'destination' | 'configSource'> = {},
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
 * Flushes a logger and closes its log file, if any. Idempotent. Daemons call
 * it last in stop(); tests call it so temp dirs can be removed.
 */
export async function closeLogger(logger: Logger): Promise<void> {
  const file = fileStreams.get(logger);
  fileStreams.delete(logger);
  if (file === undefined) {
    logger.flush();
    return;
  }
  await new Promise<void>((resolve) => {
    file.once('close', () => resolve());
    file.once('error', () => resolve());
    file.end();
  });
}

async function openRotatingFile(path: string, opts: CreateLoggerOptions): Promise<RollStream> {
  const fail = (err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      [{ file: opts.configSource ?? 'configuration', key: 'logging.file', value: path, rule: `cannot write the log file (${code})` }],
      { cause: err },
    );
  };
  try {
    mkdirSync(dirname(path), { recursive: true });
    accessSync(dirname(path), constants.W_OK);
  } catch (err) {
    fail(err);
  }
  let stream: RollStream;
  try {
    // Loaded only when a log file is configured: pino-roll pulls in date-fns
    // (600 KB), which costs every agent memory for nothing otherwise.
    const { default: roll } = await import('pino-roll');
    stream = await roll({
      file: path,
      // A bare number would mean MB to pino-roll.
      size: `${opts.maxLogSizeBytes}b`,
      // removeOtherLogFiles also prunes files of earlier runs; it makes count the total kept.
      limit: { count: opts.logFilesToKeep, removeOtherLogFiles: true },
      // Synchronous writes, as pino's own destinations: the last lines before
      // process.exit reach the file, and size rotation (which pino-roll only
      // does once the stream drains) keeps up under bursts.
      sync: true,
    });
  } catch (err) {
    return fail(err);
  }
  if (stream.fd < 0) {
    // In sync mode a failed open is reported on the next tick, and only to listeners present then.
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => resolve());
      stream.once('error', reject);
    }).catch(fail);
  }
  return stream;
}
