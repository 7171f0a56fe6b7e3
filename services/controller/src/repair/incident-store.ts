import type { RowDataPacket, ResultSetHeader, PoolConnection } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { clip, insertEvents, type EventRecord } from '../history/event-store.js';
import { formatNote } from '../alarms/notes.js';
import type { BreakerState } from './circuit-breaker.js';
import { writeNote } from '../alarms/alarm-store.js';

/**
 * An incident is one alarm occurrence: from the moment the controller sees
 * `alarma=1` on a row with no open incident, until the alarm is cleared.
 *
 *   pending ──dispatch──► dispatched ──success──► resolved   (alarma=0)
 *      ▲                      │
 *      └──failure / no result─┘   (retry at next_attempt_at; breaker counts)
 *   pending ──alarm cleared by someone else──► cleared
 *
 * `open_key` holds the process id while the incident is open and NULL after;
 * its unique index makes "one open incident per process" a database fact, so
 * two controllers (or a restarted one) can never open a second one.
 */
export type IncidentState = 'pending' | 'dispatched' | 'resolved' | 'cleared';

export interface Incident {
  id: number;
  processId: number;
  processName: string;
  service: string | null;
  hostId: string | null;
  state: IncidentState;
  attempts: number;
  jobId: string | null;
  nextAttemptAt: number | null;
  openedAt: number;
  lastMessage: string | null;
}

export interface AlarmRow {
  processId: number;
  processName: string;
}

export type { EventRecord } from '../history/event-store.js';

interface IncidentRow extends RowDataPacket {
  id: number;
  process_id: number;
  process_name: string;
  service: string | null;
  host_id: string | null;
  state: IncidentState;
  attempts: number;
  job_id: string | null;
  next_attempt_at: Date | null;
  opened_at: Date;
  last_message: string | null;
}

const toIncident = (r: IncidentRow): Incident => ({
  id: Number(r.id),
  processId: r.process_id,
  processName: r.process_name,
  service: r.service,
  hostId: r.host_id,
  state: r.state,
  attempts: r.attempts,
  jobId: r.job_id,
  nextAttemptAt: r.next_attempt_at ? r.next_attempt_at.getTime() : null,
  openedAt: r.opened_at.getTime(),
  lastMessage: r.last_message,
});

/** All of the controller's reads and writes of alarms, incidents, events and breakers. */
/** The retention job's batch delete (retention/event-retention.ts): incidents closed before `?`, at most `?` rows. */
export const DELETE_OLD_INCIDENTS_SQL = 'DELETE FROM smgr_incidents WHERE closed_at < ? AND open_key IS NULL ORDER BY closed_at LIMIT ?';

/** Batched update of incidents `ids`: `set` are `column = expression` parts whose placeholders `params` fill, in order (outcome-store.ts). */
export async function updateIncidents(c: Queryable, set: readonly string[], params: readonly unknown[], ids: readonly number[]): Promise<void> {
  await c.query(`UPDATE smgr_incidents SET ${set.join(', ')} WHERE id IN (?)`, [...params, ids]);
}

export class IncidentStore {
  constructor(
    private readonly pool: DbPool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Rows in alarm. Served by the index on STATUS_PROCESS.alarma. */
  async alarmedRows(): Promise<AlarmRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT s.process_id, p.process_name
         FROM STATUS_PROCESS s JOIN PROCESE p ON p.process_id = s.process_id
        WHERE s.alarma = 1`,
    );
    return rows.map((r) => ({ processId: r.process_id as number, processName: String(r.process_name ?? '') }));
  }

  async openIncidents(): Promise<Incident[]> {
    const [rows] = await this.pool.query<IncidentRow[]>('SELECT * FROM smgr_incidents WHERE open_key IS NOT NULL');
    return rows.map(toIncident);
  }

  async getIncident(id: number): Promise<Incident | null> {
    const [rows] = await this.pool.query<IncidentRow[]>('SELECT * FROM smgr_incidents WHERE id = ?', [id]);
    return rows[0] ? toIncident(rows[0]) : null;
  }

  /** Opens an incident for each alarm that has none; returns the ones it opened. */
  async openIncidentsFor(alarms: AlarmRow[]): Promise<number> {
    if (alarms.length === 0) return 0;
    const at = this.now();
    const values = alarms.map((a) => [a.processId, a.processName, 'pending', a.processId, at]);
    const [res] = await this.pool.query<ResultSetHeader>('INSERT IGNORE INTO smgr_incidents (process_id, process_name, state, open_key, opened_at) VALUES ?', [
      values,
    ]);
    return res.affectedRows;
  }

  /** Claims a pending incident for dispatch. False when someone else already did. */
  async markDispatched(inc: Incident, hostId: string, service: string, jobId: string): Promise<boolean> {
    const [res] = await this.pool.query<ResultSetHeader>(
      `UPDATE smgr_incidents
          SET state = 'dispatched', attempts = attempts + 1, job_id = ?, host_id = ?, service = ?, next_attempt_at = NULL
        WHERE id = ? AND state = 'pending' AND attempts = ?`,
      [jobId, hostId, service, inc.id, inc.attempts],
    );
    return res.affectedRows === 1;
  }

  /**
   * Claims many pending incidents for dispatch in one statement; each claim
   * holds only if the incident is still pending at the attempt count it was
   * read with. Returns the ids actually claimed.
   */
  async markDispatchedMany(claims: readonly { inc: Incident; hostId: string; service: string; jobId: string }[]): Promise<Set<number>> {
    const claimed = new Set<number>();
    if (claims.length === 0) return claimed;
    const cases = (pick: (c: (typeof claims)[number]) => string) => ({
      sql: `CASE id ${claims.map(() => 'WHEN ? THEN ?').join(' ')} END`,
      params: claims.flatMap((c) => [c.inc.id, pick(c)]),
    });
    const job = cases((c) => c.jobId);
    const host = cases((c) => c.hostId);
    const service = cases((c) => c.service);
    await this.pool.query(
      `UPDATE smgr_incidents
          SET state = 'dispatched', attempts = attempts + 1, job_id = ${job.sql}, host_id = ${host.sql}, service = ${service.sql},
              next_attempt_at = NULL
        WHERE state = 'pending' AND (id, attempts) IN (${claims.map(() => '(?, ?)').join(', ')})`,
      [...job.params, ...host.params, ...service.params, ...claims.flatMap((c) => [c.inc.id, c.inc.attempts])],
    );
    const [rows] = await this.pool.query<RowDataPacket[]>("SELECT id, job_id FROM smgr_incidents WHERE id IN (?) AND state = 'dispatched'", [
      claims.map((c) => c.inc.id),
    ]);
    const wanted = new Map(claims.map((c) => [c.inc.id, c.jobId]));
    for (const r of rows) if (wanted.get(Number(r.id)) === r.job_id) claimed.add(Number(r.id));
    return claimed;
  }

  /** Postpones a pending incident, noting why on the seed row when the reason changed. */
  async postpone(inc: Incident, until: Date, reason: string, event?: EventRecord): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      await c.query('UPDATE smgr_incidents SET next_attempt_at = ?, last_message = ? WHERE id = ?', [until, clip(reason), inc.id]);
      if (inc.lastMessage !== clip(reason)) {
        await this.writeNote(c, inc.processId, reason);
        if (event) await this.insertEvent(c, event);
      }
    });
  }

  /** Closes incidents whose alarm was cleared by someone else while pending. */
  async closeCleared(inc: Incident): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      const [res] = await c.query<ResultSetHeader>(
        `UPDATE smgr_incidents SET state = 'cleared', open_key = NULL, closed_at = ? WHERE id = ? AND state = 'pending'`,
        [this.now(), inc.id],
      );
      if (res.affectedRows === 1) {
        await this.insertEvent(c, {
          kind: 'alarm_cleared',
          processId: inc.processId,
          incidentId: inc.id,
          message: 'alarm cleared outside smgr before a repair succeeded',
        });
      }
    });
  }

  /** Incidents by id, in the order asked (null where none). */
  async getIncidents(ids: readonly number[]): Promise<(Incident | null)[]> {
    if (ids.length === 0) return [];
    const [rows] = await this.pool.query<IncidentRow[]>('SELECT * FROM smgr_incidents WHERE id IN (?)', [ids]);
    const byId = new Map(rows.map((r) => [Number(r.id), toIncident(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async recordEvent(event: EventRecord): Promise<void> {
    await this.insertEvent(this.pool, event);
  }

  async writeProcessNote(processId: number, message: string): Promise<void> {
    await this.writeNote(this.pool, processId, message);
  }

  /** Explicit placement rows for a process (smgr_placement). */
  async placementRows(processId: number): Promise<{ hostId: string; service: string | null }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT host_id, service FROM smgr_placement WHERE process_id = ? ORDER BY host_id', [processId]);
    return rows.map((r) => ({ hostId: r.host_id as string, service: (r.service as string | null) ?? null }));
  }

  /** Placement rows of many processes in one query, by process id. */
  async placementRowsFor(processIds: readonly number[]): Promise<Map<number, { hostId: string; service: string | null }[]>> {
    const out = new Map<number, { hostId: string; service: string | null }[]>();
    if (processIds.length === 0) return out;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT process_id, host_id, service FROM smgr_placement WHERE process_id IN (?) ORDER BY process_id, host_id',
      [processIds],
    );
    for (const r of rows) {
      const id = r.process_id as number;
      let list = out.get(id);
      if (!list) out.set(id, (list = []));
      list.push({ hostId: r.host_id as string, service: (r.service as string | null) ?? null });
    }
    return out;
  }

  /** Breaker states of many processes (every host) in one query, keyed by breakerKey(). */
  async breakerStatesFor(processIds: readonly number[]): Promise<Map<string, BreakerState>> {
    const out = new Map<string, BreakerState>();
    if (processIds.length === 0) return out;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT process_id, host_id, consecutive_failures, open_until FROM smgr_breakers WHERE process_id IN (?)',
      [processIds],
    );
    for (const r of rows) {
      out.set(breakerKey(r.process_id as number, r.host_id as string), {
        consecutiveFailures: r.consecutive_failures as number,
        openUntil: r.open_until ? (r.open_until as Date).getTime() : null,
      });
    }
    return out;
  }

  /** Breakers open at `at`, for the open-breakers gauge. */
  async countOpenBreakers(at: Date): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM smgr_breakers WHERE open_until > ?', [at]);
    return Number(rows[0]?.n ?? 0);
  }

  private async writeNote(c: Queryable, processId: number, message: string): Promise<void> {
    await writeNote(c, processId, formatNote(this.now(), message));
  }

  private async insertEvent(c: Queryable, e: EventRecord): Promise<void> {
    await insertEvents(c, this.now(), [e]);
  }
}

type Queryable = Pick<PoolConnection, 'query'>;

/** Map key of a (process, host) breaker. */
export function breakerKey(processId: number, hostId: string): string {
  return `${processId}\u0000${hostId}`;
}
