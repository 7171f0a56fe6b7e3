import { pino, type Logger } from 'pino';

/** A pino logger that writes nothing, for units that take a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
