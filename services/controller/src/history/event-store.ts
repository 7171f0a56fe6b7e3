import type { EventView } from '@smgr/shared';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';
import { whereClause } from '../db/where-clause.js';

/**
 * smgr_events, the history of repairs, agent events, operations and
 * rollouts: the one module that writes, reads and prunes it (docs/architecture.md,
 * "Table owners"). Callers hand it EventRecords, inside their own transaction
 * where the event belongs to a change of other tables.
 */
export interface EventRecord {
  kind: string;
  processId?: number | null;
  incidentId?: number | null;
  hostId?: string | null;
  service?: string | null;
  jobId?: string | null;
  outcome?: string | null;
  strategy?: string | null;
  durationMs?: number | null;
  message: string;
  detail?: unknown;
}

type Queryable = Pick<PoolConnection, 'query'>;

const MESSAGE_MAX = 1024;

/** Cuts a message to the VARCHAR(1024) columns smgr keeps messages in. */
export function clip(s: string, n = MESSAGE_MAX): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
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

/** Writes events at `at` in one statement; resolves with the first new row's id (0 for none). */
export async function insertEvents(c: Queryable | DbPool, at: Date, events: readonly EventRecord[]): Promise<number> {
  if (events.length === 0) return 0;
  const [res] = await c.query<ResultSetHeader>(
    `INSERT INTO smgr_events (at, kind, process_id, incident_id, host_id, service, job_id, outcome, strategy, duration_ms, message, detail)
     VALUES ?`,
    [events.map((e) => eventRow(at, e))],
  );
  return res.insertId;
}

/** Filters of GET /v1/events. */
export interface EventQuery {
  kind?: string | undefined;
  service?: string | undefined;
  host?: string | undefined;
  processId?: number | undefined;
  since?: string | undefined;
  beforeId?: number | undefined;
  limit: number;
}

/** Events matching `q`, newest first. */
export async function listEvents(pool: DbPool, q: EventQuery): Promise<RowDataPacket[]> {
  const where = whereClause([
    ['kind = ?', q.kind],
    ['service = ?', q.service],
    ['host_id = ?', q.host],
    ['process_id = ?', q.processId],
    ['at >= ?', q.since === undefined ? undefined : new Date(q.since)],
    ['id < ?', q.beforeId],
  ]);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT * FROM smgr_events ${where.sql} ORDER BY id DESC LIMIT ?`, [...where.args, q.limit]);
  return rows;
}

/** One smgr_events row as the API and the console feed show it: the API's EventView, shared with the CLI. */
export type { EventView };

/** An smgr_events row (listEvents, or the feed's own read) as an EventView. */
export function eventView(r: RowDataPacket): EventView {
  return {
    id: Number(r.id),
    at: (r.at as Date).toISOString(),
    kind: String(r.kind),
    processId: r.process_id === null ? null : Number(r.process_id),
    incidentId: r.incident_id === null ? null : Number(r.incident_id),
    hostId: (r.host_id as string | null) ?? null,
    service: (r.service as string | null) ?? null,
    jobId: (r.job_id as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    strategy: (r.strategy as string | null) ?? null,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    message: String(r.message),
    detail: parseDetail(r.detail),
  };
}

/** A detail column's JSON; text that does not parse as itself; null when there is none. */
function parseDetail(text: unknown): unknown {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The retention job's batch delete (event-retention.ts): events older than `?`, at most `?` rows. */
export const DELETE_OLD_EVENTS_SQL = 'DELETE FROM smgr_events WHERE at < ? ORDER BY at LIMIT ?';
