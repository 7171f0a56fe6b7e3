import type { Logger } from 'pino';
import { Queue, type ConnectionOptions } from 'bullmq';

/**
 * A BullMQ queue whose connection errors are logged, never unhandled (a
 * Queue re-emits its connection's errors: Redis gone, a connection closed at
 * stop). Every controller queue is opened here.
 */
export function openQueue<Data, Result = unknown>(
  name: string,
  connection: ConnectionOptions,
  prefix: string,
  onError: (err: Error) => void,
): Queue<Data, Result> {
  const queue = new Queue<Data, Result>(name, { connection, prefix });
  queue.on('error', onError);
  return queue;
}

/** `onError` for openQueue: one log line per error at `level`, the message only. */
export function logQueueError(log: Logger, level: 'debug' | 'warn', msg: string, fields: Record<string, unknown> = {}) {
  return (err: Error) => log[level]({ ...fields, err: err.message }, msg);
}

/** A BullMQ Queue, Worker or QueueEvents (Worker's close takes `force`). */
interface Closable {
  close(force?: boolean): Promise<void>;
}

/**
 * Closes a BullMQ queue, worker or event listener so that nothing it started
 * can end the process afterwards.
 *
 * Why: BullMQ (5.81) removes every listener from its RedisConnection at
 * close(), yet an init() still pending on a shared ioredis connection later
 * rejects ("Connection is closed", once we disconnect that connection) and is
 * re-emitted as 'error' on the listener-less RedisConnection: an unhandled
 * rejection that killed a controller stopping after a failed start (exit 1
 * instead of 78). A no-op listener is put back after close().
 */
export async function closeQuietly(q: Closable, force = false): Promise<void> {
  try {
    await q.close(force);
  } finally {
    keepQuiet(q);
  }
}

function keepQuiet(q: Closable): void {
  const inner = q as unknown as Record<'connection' | 'blockingConnection', { on?: (e: 'error', f: () => void) => void } | undefined>;
  for (const c of [inner.connection, inner.blockingConnection]) c?.on?.('error', () => undefined);
}

/**
 * Starts a BullMQ worker's loop. Its promise rejects when the worker's
 * connection is closed under it: at a stop, even one during start-up, that
 * is expected and `onClosed` hears it (left floating, it ended a controller
 * that failed to start with exit 1 instead of 78). While the worker is not
 * closing, the rejection stays unhandled: the process ends and systemd
 * restarts it, rather than running on without its worker.
 */
export function runWorker(worker: { run(): Promise<unknown>; closing: Promise<void> | undefined }, onClosed: (err: Error) => void): void {
  worker.run().catch((err: Error) => {
    if (worker.closing === undefined) throw err;
    onClosed(err);
  });
}
