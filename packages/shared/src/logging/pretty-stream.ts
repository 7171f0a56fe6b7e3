import { writeSync } from 'node:fs';

/** A pino destination that writes each JSON line as a line of text. */
export interface PrettyStream {
  write(line: string): void;
}

/**
 * Human-readable log lines for a terminal: local time, level (coloured),
 * message, then the fields on the same line. Written synchronously to `fd`,
 * as pino's own stdout destination, so the last lines before an exit are not
 * lost. pino-pretty is loaded only here, when a terminal is attached: a
 * daemon under systemd (JSON to journald) never pays for it.
 */
export async function createPrettyStream(fd: number, colorize: boolean): Promise<PrettyStream> {
  const { prettyFactory } = await import('pino-pretty');
  const pretty = prettyFactory({
    colorize,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return {
    write(line: string): void {
      const text = pretty(line);
      if (text) writeSync(fd, text);
    },
  };
}
