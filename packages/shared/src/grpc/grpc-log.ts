import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

/**
 * Sends grpc-js's own log lines into the daemon's log at debug level instead
 * of writing them raw to stderr ("E No address added out of total 1
 * resolved"): the daemon reports what matters itself, with the config key
 * and the fix, and stderr keeps its one plain line on a failed start.
 * GRPC_TRACE output lands there too (with logging.level = debug).
 */
export function routeGrpcLogs(log: Logger): void {
  const grpcLog = log.child({ component: 'grpc-js' });
  const line =
    (level: 'debug' | 'info' | 'error') =>
    (message?: unknown, ...rest: unknown[]): void =>
      grpcLog.debug({ grpcLevel: level }, format(message, ...rest));
  grpc.setLogger({ debug: line('debug'), info: line('info'), error: line('error') });
}
