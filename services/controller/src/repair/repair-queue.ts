import type { Queue, ConnectionOptions } from 'bullmq';
import { openQueue } from '../db/bullmq.js';

export const REPAIR_QUEUE = 'smgr-repairs';

/**
 * What a repair job carries. The incident row is the authority; this is a
 * pointer to it: the worker reads host, service and process from the
 * incident, and the other fields are only for people reading the queue.
 */
export interface RepairJobData {
  incidentId: number;
  processId: number;
  processName: string;
  service: string;
  hostId: string;
  attempt: number;
}

/** BullMQ retries cover controller-side trouble (MySQL down while recording); repairs have their own retry loop. */
export const REPAIR_JOB_OPTIONS = {
  attempts: 1000,
  backoff: { type: 'capped' },
  // Completed jobs are kept long enough that a re-add with the same id is a no-op.
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export function createRepairQueue(connection: ConnectionOptions, prefix: string, onError: (err: Error) => void): Queue<RepairJobData> {
  return openQueue<RepairJobData>(REPAIR_QUEUE, connection, prefix, onError);
}

/** Adds repair jobs in bulk (one round trip per 500); BullMQ ignores an add whose job id already exists. */
export async function enqueueRepairs(queue: Queue<RepairJobData>, jobs: readonly { jobId: string; data: RepairJobData }[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 500) {
    await queue.addBulk(jobs.slice(i, i + 500).map((j) => ({ name: 'repair', data: j.data, opts: { ...REPAIR_JOB_OPTIONS, jobId: j.jobId } })));
  }
}

/** Backoff for REPAIR_JOB_OPTIONS' 'capped' type: exponential from 0.5 s, never above 10 s. */
export function repairBackoff(attemptsMade: number): number {
  return Math.min(500 * 2 ** Math.max(0, attemptsMade - 1), 10_000);
}
