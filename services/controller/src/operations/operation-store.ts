import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { clip } from '../history/event-store.js';
import type { StepFailure } from '../history/result-detail.js';
import type { HostOperationState, OperationName, OperationState, OperationView } from './operation-types.js';

/** What a host's finished part records. */
export interface HostOutcomeRecord {
  state: Exclude<HostOperationState, 'pending' | 'running'>;
  message: string;
  version: string;
  strategy: string;
  durationMs: number;
  failure: StepFailure | null;
}

export interface NewOperation {
  id: string;
  operation: OperationName;
  service: string;
  version: string | null;
  controllerId: string;
  timeoutMs: number;
  createdBy: string;
  hosts: { hostId: string; jobId: string }[];
}

/** Finished operations deleted per statement when pruning. */
const PRUNE_BATCH = 500;

/**
 * The one owner of smgr_operations and smgr_operation_hosts: creates an
 * operation with its hosts pending, records each host's progress, finishes
 * it, reads it back, and prunes old ones. A host row only moves forward
 * (pending -> running -> outcome), so a late result never overwrites an
 * `interrupted` mark.
 */
export class OperationStore {
  constructor(private readonly pool: DbPool) {}

  async create(op: NewOperation, now = new Date()): Promise<void> {
    await withTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO smgr_operations (id, operation, service, version, state, controller_id, timeout_ms, created_by, created_at)
         VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)`,
        [op.id, op.operation, op.service, op.version, op.controllerId, op.timeoutMs, op.createdBy, now],
      );
      if (op.hosts.length > 0) {
        await c.query(`INSERT INTO smgr_operation_hosts (operation_id, host_id, position, state, job_id) VALUES ?`, [
          op.hosts.map((h, i) => [op.id, h.hostId, i, 'pending', h.jobId]),
        ]);
      }
    });
  }

  async hostStarted(id: string, hostId: string, now = new Date()): Promise<void> {
    await this.pool.query(`UPDATE smgr_operation_hosts SET state = 'running', started_at = ? WHERE operation_id = ? AND host_id = ? AND state = 'pending'`, [
      now,
      id,
      hostId,
    ]);
  }

  async hostFinished(id: string, hostId: string, o: HostOutcomeRecord, now = new Date()): Promise<void> {
    await this.pool.query(
      `UPDATE smgr_operation_hosts SET state = ?, message = ?, version = ?, strategy = ?, duration_ms = ?,
         failed_step = ?, exit_code = ?, output_tail = ?, started_at = COALESCE(started_at, ?), finished_at = ?
       WHERE operation_id = ? AND host_id = ? AND state IN ('pending', 'running')`,
      [
        o.state,
        clip(o.message),
        o.version.slice(0, 128),
        o.strategy.slice(0, 32),
        Math.max(0, Math.round(o.durationMs)),
        o.failure ? o.failure.step.slice(0, 64) : null,
        o.failure ? o.failure.exitCode : null,
        o.failure ? o.failure.outputTail : null,
        now,
        now,
        id,
        hostId,
      ],
    );
  }

  /** Marks a running operation finished (succeeded when every host did). */
  async finish(id: string, state: Extract<OperationState, 'succeeded' | 'failed'>, now = new Date()): Promise<void> {
    await this.pool.query(`UPDATE smgr_operations SET state = ?, finished_at = ? WHERE id = ? AND state = 'running'`, [state, now, id]);
  }

  /**
   * Operations a controller left running (it stopped or crashed before their
   * results came back): they and their unfinished hosts become `interrupted`.
   * Resolves with how many operations were marked.
   */
  async interrupt(controllerId: string, why: string, ids?: readonly string[], now = new Date()): Promise<number> {
    return withTransaction(this.pool, async (c) => {
      const [rows] = await c.query<RowDataPacket[]>(
        `SELECT id FROM smgr_operations WHERE state = 'running' AND controller_id = ? ${ids ? 'AND id IN (?)' : ''} FOR UPDATE`,
        ids ? [controllerId, ids.length > 0 ? ids : ['']] : [controllerId],
      );
      const found = rows.map((r) => String(r.id));
      if (found.length === 0) return 0;
      await c.query(
        `UPDATE smgr_operation_hosts SET state = 'interrupted', message = ?, finished_at = ?
         WHERE operation_id IN (?) AND state IN ('pending', 'running')`,
        [clip(why), now, found],
      );
      await c.query(`UPDATE smgr_operations SET state = 'interrupted', finished_at = ? WHERE id IN (?)`, [now, found]);
      return found.length;
    });
  }

  async load(id: string): Promise<OperationView | null> {
    const [ops] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_operations WHERE id = ?', [id]);
    const op = ops[0];
    if (!op) return null;
    const [hosts] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_operation_hosts WHERE operation_id = ? ORDER BY position', [id]);
    return toView(op, hosts);
  }

  /** Deletes finished operations older than `before`, in batches; resolves with the count. */
  async prune(before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT id FROM smgr_operations WHERE finished_at < ? ORDER BY finished_at LIMIT ?`, [
        before,
        PRUNE_BATCH,
      ]);
      if (rows.length === 0) return total;
      const ids = rows.map((r) => String(r.id));
      await withTransaction(this.pool, async (c) => {
        await c.query('DELETE FROM smgr_operation_hosts WHERE operation_id IN (?)', [ids]);
        const [res] = await c.query<ResultSetHeader>('DELETE FROM smgr_operations WHERE id IN (?)', [ids]);
        total += res.affectedRows;
      });
      if (rows.length < PRUNE_BATCH) return total;
    }
  }
}

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

function toView(op: RowDataPacket, hosts: RowDataPacket[]): OperationView {
  const summary: Record<HostOperationState, number> = {
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    refused: 0,
    unavailable: 0,
    interrupted: 0,
  };
  const views = hosts.map((h) => {
    const state = h.state as HostOperationState;
    summary[state] += 1;
    return {
      hostId: String(h.host_id),
      state,
      message: String(h.message),
      version: String(h.version),
      strategy: String(h.strategy),
      durationMs: Number(h.duration_ms),
      jobId: String(h.job_id),
      failure:
        h.failed_step === null
          ? null
          : { step: String(h.failed_step), exitCode: h.exit_code === null ? -1 : Number(h.exit_code), outputTail: String(h.output_tail ?? '') },
      startedAt: iso(h.started_at),
      finishedAt: iso(h.finished_at),
    };
  });
  const state = op.state as OperationState;
  return {
    id: String(op.id),
    operation: op.operation as OperationName,
    service: String(op.service),
    // An action's name is kept in the version column (an action has no version).
    ...(op.version === null ? {} : op.operation === 'action' ? { action: String(op.version) } : { version: String(op.version) }),
    state,
    ok: state === 'succeeded',
    summary,
    createdBy: String(op.created_by),
    createdAt: iso(op.created_at)!,
    finishedAt: iso(op.finished_at),
    timeoutSeconds: Number(op.timeout_ms) / 1000,
    hosts: views,
  };
}
