/** A pino destination that writes each JSON line as a line of text. */
export interface PrettyStream {
  write(line: string): void;
}

/**
 * Human-readable log lines for a terminal: local time, level (coloured),
 * message, then the fields on the same line, handed to `out` (a synchronous
 * write to stdout for the daemons, so the last lines before an exit are not
 * lost). pino-pretty is loaded only here, when a terminal is attached: a
 * daemon under systemd (JSON to journald) never pays for it.
 */
export async function createPrettyStream(out: (text: string) => void, colorize: boolean): Promise<PrettyStream> {
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
      if (text) out(text);
    },
  };
}
