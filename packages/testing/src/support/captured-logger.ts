/**
 * A daemon logger (the daemons' own `createLogger`, debug level) whose JSON
 * records a test reads back instead of a file: for tests that check what was
 * logged.
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@smgr/shared';

export interface CapturedLogger {
  log: Logger;
  /** Every record written so far, oldest first. */
  records: Record<string, unknown>[];
}

export async function capturedLogger(name: string): Promise<CapturedLogger> {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = await createLogger({ name, level: 'debug', destination, maxLogSizeBytes: 1 << 20, logFilesToKeep: 1 });
  return { log, records };
}
