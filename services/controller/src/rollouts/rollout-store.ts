import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { RefusedError } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { whereClause } from '../db/where-clause.js';
import { isActive } from './rollout-machine.js';
import type { HostState, PausableState, Rollout, RolloutHost, RolloutSnapshot, RolloutJobKind, RolloutSpec, RolloutState } from './rollout-types.js';
import type { StepFailure } from '../history/result-detail.js';
import { withTransaction } from '../db/transaction.js';
import { insertEvents } from '../history/event-store.js';

const ER_DUP_ENTRY = 1062;
const MESSAGE_MAX = 1024;
const clip = (s: string, n = MESSAGE_MAX) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const toDate = (ms: number | null) => (ms === null ? null : new Date(ms));
const toMs = (d: unknown) => (d instanceof Date ? d.getTime() : null);

/** Filter of `list`. */
export interface RolloutFilter {
  service?: string;
  state?: RolloutState;
  /** Only rollouts holding their service's active slot. */
  active?: boolean;
  limit?: number;
}

/** A rollout with its host counts by state, for listings. */
export interface RolloutSummary extends Rollout {
  hostCounts: Partial<Record<HostState, number>>;
  hostTotal: number;
}

/**
 * smgr_rollouts and smgr_rollout_hosts. Every transition the runner makes is
 * written here (one transaction per transition) before any job it implies is
 * sent, so a restarted controller picks up exactly where the last one was.
 */
export class RolloutStore {
  constructor(private readonly pool: DbPool) {}

  /**
   * Inserts a new rollout and its hosts; returns it with its id.
   * @throws RefusedError `ROLLOUT_ACTIVE` when the service already has an active rollout
   */
  async create(s: RolloutSnapshot): Promise<RolloutSnapshot> {
    return withTransaction(this.pool, async (c) => {
      const r = s.rollout;
      let id: number;
      try {
        const [res] = await c.query<ResultSetHeader>(
          `INSERT INTO smgr_rollouts (service, version, state, paused_from, active_key, spec, current_batch, wait_until,
             created_by, created_at, updated_at, finished_at, message)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            r.service,
            r.version,
            r.state,
            r.pausedFrom,
            isActive(r.state) ? r.service : null,
            JSON.stringify(r.spec),
            r.currentBatch,
            toDate(r.waitUntil),
            r.createdBy,
            toDate(r.createdAt),
            toDate(r.updatedAt),
            toDate(r.finishedAt),
            clip(r.message),
          ],
        );
        id = res.insertId;
      } catch (err) {
        if ((err as { errno?: number }).errno === ER_DUP_ENTRY) throw await this.activeConflict(c, r.service);
        throw err;
      }
      const created: RolloutSnapshot = { rollout: { ...r, id }, hosts: s.hosts.map((h) => ({ ...h })) };
      if (created.hosts.length > 0) {
        await c.query(
          `INSERT INTO smgr_rollout_hosts (rollout_id, host_id, position, batch, state, previous_version, current_version,
             update_sent, started_at, updated_at, healthy_since, deadline_at, finished_at, probes, rollback_attempts, message)
           VALUES ?`,
          [created.hosts.map((h) => [id, h.hostId, ...hostValues(h)])],
        );
      }
      await insertEvent(c, created.rollout, null, 'rollout created', { hosts: created.hosts.map((h) => h.hostId) });
      return created;
    });
  }

  /**
   * Writes the difference between two snapshots of one rollout: its row when
   * it changed, each host that changed, and an event per state change.
   * @throws RefusedError `ROLLOUT_ACTIVE` when it would become active while another rollout of its service is
   */
  async save(before: RolloutSnapshot, after: RolloutSnapshot): Promise<void> {
    const changedHosts = after.hosts.filter((h, i) => !sameHost(h, before.hosts[i]));
    const rolloutChanged = !sameRollout(before.rollout, after.rollout);
    if (!rolloutChanged && changedHosts.length === 0) return;
    await withTransaction(this.pool, async (c) => {
      const r = after.rollout;
      if (rolloutChanged) {
        try {
          await c.query(
            `UPDATE smgr_rollouts SET state = ?, paused_from = ?, active_key = ?, current_batch = ?, wait_until = ?,
               updated_at = ?, finished_at = ?, message = ? WHERE id = ?`,
            [
              r.state,
              r.pausedFrom,
              isActive(r.state) ? r.service : null,
              r.currentBatch,
              toDate(r.waitUntil),
              toDate(r.updatedAt),
              toDate(r.finishedAt),
              clip(r.message),
              r.id,
            ],
          );
        } catch (err) {
          if ((err as { errno?: number }).errno === ER_DUP_ENTRY) throw await this.activeConflict(c, r.service);
          throw err;
        }
        if (before.rollout.state !== r.state) {
          await insertEvent(c, r, null, `rollout ${before.rollout.state} -> ${r.state}: ${r.message}`, null);
        }
      }
      for (const h of changedHosts) {
        await c.query(
          `UPDATE smgr_rollout_hosts SET position = ?, batch = ?, state = ?, previous_version = ?, current_version = ?,
             update_sent = ?, started_at = ?, updated_at = ?, healthy_since = ?, deadline_at = ?, finished_at = ?,
             probes = ?, rollback_attempts = ?, message = ?
           WHERE rollout_id = ? AND host_id = ?`,
          [...hostValues(h), r.id, h.hostId],
        );
        const old = before.hosts.find((x) => x.hostId === h.hostId);
        if (old?.state !== h.state) {
          await insertEvent(c, r, h, `host ${h.hostId} ${old?.state ?? 'new'} -> ${h.state}: ${h.message}`, null);
        }
      }
    });
  }

  async load(id: number): Promise<RolloutSnapshot | null> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_rollouts WHERE id = ?', [id]);
    if (!rows[0]) return null;
    const [hostRows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_rollout_hosts WHERE rollout_id = ? ORDER BY position', [id]);
    return { rollout: toRollout(rows[0]), hosts: hostRows.map(toHost) };
  }

  /** Ids of the rollouts holding an active slot (to resume after a restart). */
  async activeIds(): Promise<number[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT id FROM smgr_rollouts WHERE active_key IS NOT NULL ORDER BY id');
    return rows.map((r) => Number(r.id));
  }

  /** Newest first. */
  async list(filter: RolloutFilter = {}): Promise<RolloutSummary[]> {
    const where = whereClause(
      [
        ['service = ?', filter.service],
        ['state = ?', filter.state],
      ],
      filter.active === true ? ['active_key IS NOT NULL'] : [],
    );
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM smgr_rollouts ${where.sql} ORDER BY id DESC LIMIT ?`, [
      ...where.args,
      filter.limit ?? 50,
    ]);
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.id));
    const [counts] = await this.pool.query<RowDataPacket[]>(
      'SELECT rollout_id, state, COUNT(*) AS n FROM smgr_rollout_hosts WHERE rollout_id IN (?) GROUP BY rollout_id, state',
      [ids],
    );
    return rows.map((row) => {
      const r = toRollout(row);
      const hostCounts: Partial<Record<HostState, number>> = {};
      let hostTotal = 0;
      for (const c of counts) {
        if (Number(c.rollout_id) !== r.id) continue;
        hostCounts[c.state as HostState] = Number(c.n);
        hostTotal += Number(c.n);
      }
      return { ...r, hostCounts, hostTotal };
    });
  }

  /**
   * Keeps why a host's job failed (the step, its exit code, its output tail)
   * for the rollout view; one row per host, the latest failure.
   */
  async recordFailure(rolloutId: number, hostId: string, jobKind: RolloutJobKind, f: StepFailure, message: string): Promise<void> {
    await this.pool.query(
      `REPLACE INTO smgr_rollout_failures (rollout_id, host_id, job_kind, step, exit_code, output_tail, message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [rolloutId, hostId, jobKind, f.step.slice(0, 64), f.exitCode, f.outputTail, clip(message), new Date()],
    );
  }

  /** The recorded failure of each host of a rollout, by host id. */
  async failures(rolloutId: number): Promise<Map<string, StepFailure & { job: RolloutJobKind }>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT host_id, job_kind, step, exit_code, output_tail FROM smgr_rollout_failures WHERE rollout_id = ?',
      [rolloutId],
    );
    return new Map(
      rows.map((r) => [
        String(r.host_id),
        {
          job: r.job_kind as RolloutJobKind,
          step: String(r.step),
          exitCode: r.exit_code === null ? -1 : Number(r.exit_code),
          outputTail: String(r.output_tail ?? ''),
        },
      ]),
    );
  }

  private async activeConflict(c: Queryable, service: string): Promise<RefusedError> {
    const [rows] = await c.query<RowDataPacket[]>('SELECT id, state FROM smgr_rollouts WHERE active_key = ?', [service]);
    const other = rows[0];
    return new RefusedError(
      'ROLLOUT_ACTIVE',
      other
        ? `service ${service} already has an active rollout: ${Number(other.id)} (${String(other.state)}); finish, abort or roll it back first`
        : `service ${service} already has an active rollout`,
      { context: { service, activeRolloutId: other ? Number(other.id) : null } },
    );
  }
}

type Queryable = Pick<PoolConnection, 'query'>;

function hostValues(h: RolloutHost): unknown[] {
  return [
    h.position,
    h.batch,
    h.state,
    h.previousVersion,
    h.currentVersion,
    h.updateSent ? 1 : 0,
    toDate(h.startedAt),
    toDate(h.updatedAt),
    toDate(h.healthySince),
    toDate(h.deadlineAt),
    toDate(h.finishedAt),
    h.probes,
    h.rollbackAttempts,
    clip(h.message),
  ];
}

function sameHost(a: RolloutHost, b: RolloutHost | undefined): boolean {
  if (!b) return false;
  for (const k of Object.keys(a) as (keyof RolloutHost)[]) if (a[k] !== b[k]) return false;
  return true;
}

function sameRollout(a: Rollout, b: Rollout): boolean {
  for (const k of Object.keys(a) as (keyof Rollout)[]) if (k !== 'spec' && a[k] !== b[k]) return false;
  return true;
}

/** Rollout history in smgr_events (kind 'rollout'), next to repairs: one place to read what happened. */
async function insertEvent(c: Queryable, r: Rollout, h: RolloutHost | null, message: string, detail: unknown): Promise<void> {
  // smgr_events.outcome is VARCHAR(16); the full state is in the message.
  const state: string = h ? h.state : r.state;
  const outcome = state === 'awaiting_promotion' ? 'awaiting_promote' : state;
  await insertEvents(c, new Date(), [
    {
      kind: 'rollout',
      hostId: h?.hostId ?? null,
      service: r.service,
      jobId: `ro-${r.id}`,
      outcome: outcome.slice(0, 16),
      message,
      detail: { rolloutId: r.id, version: r.version, ...(detail === null ? {} : { data: detail }) },
    },
  ]);
}

function toRollout(r: RowDataPacket): Rollout {
  return {
    id: Number(r.id),
    service: r.service as string,
    version: r.version as string,
    state: r.state as RolloutState,
    pausedFrom: (r.paused_from as PausableState | null) ?? null,
    spec: JSON.parse(r.spec as string) as RolloutSpec,
    currentBatch: Number(r.current_batch),
    waitUntil: toMs(r.wait_until),
    createdBy: r.created_by as string,
    createdAt: toMs(r.created_at) ?? 0,
    updatedAt: toMs(r.updated_at) ?? 0,
    finishedAt: toMs(r.finished_at),
    message: r.message as string,
  };
}

function toHost(r: RowDataPacket): RolloutHost {
  return {
    hostId: r.host_id as string,
    position: Number(r.position),
    batch: Number(r.batch),
    state: r.state as HostState,
    previousVersion: (r.previous_version as string | null) ?? null,
    currentVersion: (r.current_version as string | null) ?? null,
    updateSent: Number(r.update_sent) === 1,
    startedAt: toMs(r.started_at),
    updatedAt: toMs(r.updated_at),
    healthySince: toMs(r.healthy_since),
    deadlineAt: toMs(r.deadline_at),
    finishedAt: toMs(r.finished_at),
    probes: Number(r.probes),
    rollbackAttempts: Number(r.rollback_attempts),
    message: r.message as string,
  };
}
