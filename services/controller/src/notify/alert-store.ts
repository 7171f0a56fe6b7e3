import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { NotifyEvent, Severity } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import type { AlertRow, Signal } from './alert-types.js';

const MESSAGE_MAX = 1024;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The owner of smgr_notify_alerts and smgr_notify_cursor: applies signals
 * (deduplicated by alert key), lists what the dispatcher has yet to hand
 * over, marks what it did, and keeps the sources' read positions.
 */
export class AlertStore {
  constructor(private readonly pool: DbPool) {}

  /** Applies signals in order; returns how many changed an alert (new firing or new resolve). */
  async apply(signals: readonly Signal[]): Promise<number> {
    let changed = 0;
    for (const s of signals) {
      if (s.op === 'fire') {
        // A firing alert stays as it is (dedup); a resolved one starts a new occurrence.
        const [res] = await this.pool.query<ResultSetHeader>(
          `INSERT INTO smgr_notify_alerts (alert_key, event, severity, state, resolvable, process_id, host_id, service, message, fired_at)
           VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE
             message = IF(state = 'resolved', VALUES(message), message),
             fired_at = IF(state = 'resolved', VALUES(fired_at), fired_at),
             notified_firing = IF(state = 'resolved', 0, notified_firing),
             notified_resolved = IF(state = 'resolved', 0, notified_resolved),
             resolved_at = IF(state = 'resolved', NULL, resolved_at),
             state = 'firing'`,
          [
            s.key.slice(0, 255),
            s.event,
            s.severity,
            s.resolvable ? 1 : 0,
            s.processId,
            s.hostId?.slice(0, 255) ?? null,
            s.service?.slice(0, 255) ?? null,
            clip(s.message, MESSAGE_MAX),
            s.at,
          ],
        );
        // 1: inserted; 2: updated (a resolved alert fired again); 0: already firing.
        if (res.affectedRows === 1 || (res.affectedRows === 2 && res.changedRows !== 0)) changed += 1;
        continue;
      }
      const m = s.match;
      const [where, params] =
        'key' in m
          ? ['alert_key = ?', [m.key]]
          : 'processId' in m
            ? ['process_id = ? AND event IN (?)', [m.processId, m.events]]
            : ['host_id = ? AND service = ? AND event IN (?)', [m.hostId, m.service, m.events]];
      const [res] = await this.pool.query<ResultSetHeader>(
        `UPDATE smgr_notify_alerts SET state = 'resolved', resolved_at = ? WHERE state = 'firing' AND resolvable = 1 AND ${where}`,
        [s.at, ...params],
      );
      changed += res.affectedRows;
    }
    return changed;
  }

  /** Resolves the firing alerts of `event` whose keys are not in `still` (a periodic source's view of what is still wrong). */
  async resolveAllBut(event: NotifyEvent, still: readonly string[], at: Date): Promise<number> {
    const [res] = await this.pool.query<ResultSetHeader>(
      `UPDATE smgr_notify_alerts SET state = 'resolved', resolved_at = ? WHERE state = 'firing' AND event = ?${still.length ? ' AND alert_key NOT IN (?)' : ''}`,
      still.length ? [at, event, still] : [at, event],
    );
    return res.affectedRows;
  }

  /** Alerts whose firing or resolve has not been handed to the delivery queue yet. */
  async pending(limit = 10_000): Promise<AlertRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM smgr_notify_alerts WHERE notified_firing = 0 OR (state = 'resolved' AND notified_resolved = 0) LIMIT ?`,
      [limit],
    );
    return rows.map(toAlert);
  }

  /** Alerts firing now (GET /v1/notify/alerts), newest first. */
  async firing(limit = 1000): Promise<AlertRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM smgr_notify_alerts WHERE state = 'firing' ORDER BY fired_at DESC LIMIT ?`, [limit]);
    return rows.map(toAlert);
  }

  async markFiringDone(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      await this.pool.query('UPDATE smgr_notify_alerts SET notified_firing = 1 WHERE alert_key IN (?)', [keys.slice(i, i + 1000)]);
    }
  }

  /** One-offs are also closed here: they never resolve by themselves. */
  async markResolvedDone(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      await this.pool.query(
        `UPDATE smgr_notify_alerts SET notified_resolved = 1, state = IF(resolvable = 0, 'resolved', state),
           resolved_at = IF(resolvable = 0 AND resolved_at IS NULL, NOW(3), resolved_at) WHERE alert_key IN (?)`,
        [keys.slice(i, i + 1000)],
      );
    }
  }

  /** Deletes alerts that were resolved and fully handed over before `before`. */
  async prune(before: Date): Promise<number> {
    const [res] = await this.pool.query<ResultSetHeader>(
      `DELETE FROM smgr_notify_alerts WHERE state = 'resolved' AND notified_firing = 1 AND notified_resolved = 1 AND resolved_at < ? LIMIT 5000`,
      [before],
    );
    return res.affectedRows;
  }

  /** A source's read position; undefined the first time. */
  async cursor(source: string): Promise<number | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT last_id FROM smgr_notify_cursor WHERE source = ?', [source]);
    return rows[0] ? Number(rows[0].last_id) : undefined;
  }

  async setCursor(source: string, lastId: number): Promise<void> {
    await this.pool.query('INSERT INTO smgr_notify_cursor (source, last_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE last_id = VALUES(last_id)', [source, lastId]);
  }
}

function toAlert(r: RowDataPacket): AlertRow {
  return {
    key: r.alert_key as string,
    event: r.event as NotifyEvent,
    severity: r.severity as Severity,
    state: r.state as 'firing' | 'resolved',
    resolvable: Number(r.resolvable) === 1,
    processId: r.process_id === null ? null : Number(r.process_id),
    hostId: (r.host_id as string | null) ?? null,
    service: (r.service as string | null) ?? null,
    message: r.message as string,
    firedAt: r.fired_at as Date,
    resolvedAt: (r.resolved_at as Date | null) ?? null,
    notifiedFiring: Number(r.notified_firing) === 1,
    notifiedResolved: Number(r.notified_resolved) === 1,
  };
}
