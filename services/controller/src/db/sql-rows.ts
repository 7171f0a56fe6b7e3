import type { PoolConnection } from 'mysql2/promise';
import type { DbPool } from './pool.js';
import type { EventRecord } from './incident-store.js';

const MESSAGE_MAX = 1024;

/** Cuts a message to the VARCHAR(1024) columns smgr keeps messages in. */
export function clip(s: string, n = MESSAGE_MAX): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** smgr_events columns in insert order: at, kind, process_id, incident_id, host_id, service, job_id, outcome, strategy, duration_ms, message, detail. */
export function eventRow(at: Date, e: EventRecord): unknown[] {
  return [
    at,
    e.kind,
    e.processId ?? null,
    e.incidentId ?? null,
    e.hostId ?? null,
    e.service ?? null,
    e.jobId ?? null,
    e.outcome ?? null,
    e.strategy ?? null,
    e.durationMs ?? null,
    clip(e.message),
    e.detail === undefined ? null : JSON.stringify(e.detail),
  ];
}

/** Runs `fn` in a transaction on one pooled connection: commit when it resolves, roll back when it throws. */
export async function withTransaction<T>(pool: DbPool, fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection();
  try {
    await c.beginTransaction();
    const out = await fn(c);
    await c.commit();
    return out;
  } catch (err) {
    await c.rollback().catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
