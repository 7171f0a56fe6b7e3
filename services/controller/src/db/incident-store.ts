import type { RowDataPacket, ResultSetHeader, PoolConnection } from 'mysql2/promise';
import type { DbPool } from './pool.js';
import { formatNote } from '../repair/notes.js';
import type { BreakerState } from '../repair/circuit-breaker.js';

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

const MESSAGE_MAX = 1024;
const clip = (s: string, n = MESSAGE_MAX) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** All of the controller's reads and writes of alarms, incidents, events and breakers. */
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
    const [res] = await this.pool.query<ResultSetHeader>(
      'INSERT IGNORE INTO smgr_incidents (process_id, process_name, state, open_key, opened_at) VALUES ?',
      [values],
    );
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

  /** Postpones a pending incident, noting why on the seed row when the reason changed. */
  async postpone(inc: Incident, until: Date, reason: string, event?: EventRecord): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('UPDATE smgr_incidents SET next_attempt_at = ?, last_message = ? WHERE id = ?', [
        until,
        clip(reason),
        inc.id,
      ]);
      if (inc.lastMessage !== clip(reason)) {
        await this.writeNote(c, inc.processId, reason);
        if (event) await this.insertEvent(c, event);
      }
    });
  }

  /** Closes incidents whose alarm was cleared by someone else while pending. */
  async closeCleared(inc: Incident): Promise<void> {
    await this.transaction(async (c) => {
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

  /**
   * Records a finished repair in one transaction: the event, the incident,
   * the breaker and the seed row. Returns false when the incident had already
   * moved on (a replayed job), in which case nothing is written.
   */
  async recordOutcome(args: {
    inc: Incident;
    jobId: string;
    success: boolean;
    note: string;
    breaker: BreakerState;
    retryAt: Date | null;
    event: EventRecord;
  }): Promise<boolean> {
    const { inc, jobId, success } = args;
    return this.transaction(async (c) => {
      const at = this.now();
      const [res] = await c.query<ResultSetHeader>(
        success
          ? `UPDATE smgr_incidents SET state = 'resolved', open_key = NULL, closed_at = ?, last_message = ?
              WHERE id = ? AND state = 'dispatched' AND job_id = ?`
          : `UPDATE smgr_incidents SET state = 'pending', next_attempt_at = ?, last_message = ?
              WHERE id = ? AND state = 'dispatched' AND job_id = ?`,
        [success ? at : args.retryAt, clip(args.note), inc.id, jobId],
      );
      if (res.affectedRows !== 1) return false;
      if (success) {
        await c.query('UPDATE STATUS_PROCESS SET alarma = 0, notes = ? WHERE process_id = ?', [
          formatNote(at, args.note),
          inc.processId,
        ]);
      } else {
        await this.writeNote(c, inc.processId, args.note);
      }
      await this.saveBreaker(c, inc.processId, inc.hostId ?? '', args.breaker);
      await this.insertEvent(c, args.event);
      return true;
    });
  }

  async breakerState(processId: number, hostId: string): Promise<BreakerState> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT consecutive_failures, open_until FROM smgr_breakers WHERE process_id = ? AND host_id = ?',
      [processId, hostId],
    );
    const r = rows[0];
    if (!r) return { consecutiveFailures: 0, openUntil: null };
    return {
      consecutiveFailures: r.consecutive_failures as number,
      openUntil: r.open_until ? (r.open_until as Date).getTime() : null,
    };
  }

  async recordEvent(event: EventRecord): Promise<void> {
    await this.insertEvent(this.pool, event);
  }

  async writeProcessNote(processId: number, message: string): Promise<void> {
    await this.writeNote(this.pool, processId, message);
  }

  /** Explicit placement rows for a process (smgr_placement). */
  async placementRows(processId: number): Promise<{ hostId: string; service: string | null }[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT host_id, service FROM smgr_placement WHERE process_id = ? ORDER BY host_id',
      [processId],
    );
    return rows.map((r) => ({ hostId: r.host_id as string, service: (r.service as string | null) ?? null }));
  }

  private async writeNote(c: Queryable, processId: number, message: string): Promise<void> {
    await c.query('UPDATE STATUS_PROCESS SET notes = ? WHERE process_id = ?', [formatNote(this.now(), message), processId]);
  }

  private async saveBreaker(c: Queryable, processId: number, hostId: string, s: BreakerState): Promise<void> {
    await c.query(
      `INSERT INTO smgr_breakers (process_id, host_id, consecutive_failures, open_until) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE consecutive_failures = VALUES(consecutive_failures), open_until = VALUES(open_until)`,
      [processId, hostId, s.consecutiveFailures, s.openUntil === null ? null : new Date(s.openUntil)],
    );
  }

  private async insertEvent(c: Queryable, e: EventRecord): Promise<void> {
    await c.query(
      `INSERT INTO smgr_events (at, kind, process_id, incident_id, host_id, service, job_id, outcome, strategy, duration_ms, message, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        this.now(),
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
      ],
    );
  }

  private async transaction<T>(fn: (c: PoolConnection) => Promise<T>): Promise<T> {
    const c = await this.pool.getConnection();
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
}

type Queryable = Pick<PoolConnection, 'query'>;
