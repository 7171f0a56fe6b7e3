// pino-roll 3 ships no types; this covers the part smgr uses.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';

  /** The sonic-boom stream pino-roll returns. */
  interface RollStream extends EventEmitter {
    /** -1 until the file is open. */
    readonly fd: number;
    write(data: string): boolean;
    flush(cb?: (err?: Error) => unknown): void;
    end(): void;
  }

  interface PinoRollOptions {
    /** Base path; files are written as `${file}.1`, `${file}.2`, ... */
    file: string | (() => string);
    /** A number means MB; a string takes a unit: b, k, m, g. */
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    /**
     * Files kept: `count` besides the current one from this run; with
     * removeOtherLogFiles, `count` in total (current included), earlier runs' files too.
     */
    limit?: { count: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    /** Passed on to sonic-boom. */
    mkdir?: boolean;
    sync?: boolean;
  }

  export default function pinoRoll(options: PinoRollOptions): Promise<RollStream>;
}
