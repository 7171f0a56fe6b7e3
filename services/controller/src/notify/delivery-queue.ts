import { UnrecoverableError, Worker, type ConnectionOptions, type Job, type Queue } from 'bullmq';
import { closeQuietly, logQueueError, openQueue, runWorker } from '../db/bullmq.js';
import type { DeadLetterView, Logger, NotifyConfig } from '@smgr/shared';
import type { NotificationMessage } from './alert-types.js';
import { DeliveryError, type ReceiverSender } from './receiver-sender.js';
import type { NotifyMetrics } from './notify-metrics.js';

export const NOTIFY_QUEUE = 'smgr-notify';

export interface DeliveryJobData {
  message: NotificationMessage;
}

/** A message that could not be delivered after every attempt (or was refused for good). */
export type DeadLetter = DeadLetterView;

export function createNotifyQueue(connection: ConnectionOptions, prefix: string, onError: (err: Error) => void): Queue<DeliveryJobData> {
  return openQueue<DeliveryJobData>(NOTIFY_QUEUE, connection, prefix, onError);
}

/** Adds messages; the job id is the message id, so the same message added twice is delivered once. */
export async function enqueueMessages(queue: Queue<DeliveryJobData>, messages: readonly NotificationMessage[], cfg: NotifyConfig): Promise<void> {
  for (let i = 0; i < messages.length; i += 500) {
    await queue.addBulk(
      messages.slice(i, i + 500).map((message) => ({
        name: message.status,
        data: { message },
        opts: {
          jobId: `msg-${message.id}`,
          attempts: cfg.maxAttempts,
          backoff: { type: 'exponential', delay: cfg.retryBackoffMs },
          // Kept a day so a re-add of a delivered message is a no-op; failed ones are the dead letters.
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { count: cfg.deadLettersKept },
        },
      })),
    );
  }
}

/** The dead letters, newest first. */
export async function deadLetters(queue: Queue<DeliveryJobData>, limit: number): Promise<DeadLetter[]> {
  const jobs = await queue.getFailed(0, Math.max(0, limit - 1));
  return jobs.map((j) => ({
    id: j.id ?? '',
    receiver: j.data.message.receiver,
    status: j.data.message.status,
    title: j.data.message.title,
    count: j.data.message.count,
    attempts: j.attemptsMade,
    error: j.failedReason ?? '',
    failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
  }));
}

export interface DeliveryWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  senders: ReadonlyMap<string, ReceiverSender>;
  metrics: NotifyMetrics;
  log: Logger;
}

/**
 * Delivers queued messages: each attempt once, retried by BullMQ with
 * exponential backoff up to notify.max_attempts; a receiver's permanent
 * refusal (4xx, SMTP 5xx) or the last failed attempt leaves the job failed,
 * which is what GET /v1/notify/dead-letters lists.
 */
export class DeliveryWorker {
  private readonly worker: Worker<DeliveryJobData>;
  private readonly log: Logger;

  constructor(private readonly opts: DeliveryWorkerOptions) {
    this.log = opts.log.child({ component: 'notify-delivery' });
    this.worker = new Worker<DeliveryJobData>(NOTIFY_QUEUE, (job) => this.deliver(job), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: 8,
      autorun: false,
    });
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      const dead = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      const receiver = job.data.message.receiver;
      opts.metrics.deliveries.inc({ receiver, outcome: dead ? 'dead_letter' : 'retry' });
      this.log[dead ? 'error' : 'warn'](
        { receiver, messageId: job.data.message.id, attemptsMade: job.attemptsMade, err: err.message },
        dead ? 'notification not delivered: now a dead letter (GET /v1/notify/dead-letters)' : 'notification delivery failed; will retry',
      );
    });
    this.worker.on('error', (err) => this.log.error({ err }, 'notify worker error'));
  }

  start(): void {
    runWorker(this.worker, logQueueError(this.log, 'debug', 'notify worker loop ended at close'));
  }

  async stop(): Promise<void> {
    await closeQuietly(this.worker);
  }

  private async deliver(job: Job<DeliveryJobData>): Promise<void> {
    const m = job.data.message;
    const sender = this.opts.senders.get(m.receiver);
    if (!sender) throw new UnrecoverableError(`no [receiver.${m.receiver}] in the configuration any more`);
    const t0 = process.hrtime.bigint();
    try {
      await sender.send(m);
    } catch (err) {
      if (err instanceof DeliveryError && !err.retryable) throw new UnrecoverableError(err.message);
      throw err;
    } finally {
      this.opts.metrics.deliverySeconds.observe({ receiver: m.receiver }, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    this.opts.metrics.deliveries.inc({ receiver: m.receiver, outcome: 'delivered' });
    this.log.info(
      { receiver: m.receiver, messageId: m.id, status: m.status, event: m.event, count: m.count, attempt: job.attemptsMade + 1 },
      'notification delivered',
    );
  }
}
