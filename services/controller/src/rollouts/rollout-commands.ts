import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { NotFoundError, RefusedError, SmgrError, UnavailableError } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { ROLLOUT_COMMANDS, type RolloutCommand } from './rollout-types.js';

/** A command asked through another controller, as the leader takes it. */
export interface PendingCommand {
  id: number;
  rolloutId: number;
  command: RolloutCommand;
  by: string;
}

/** Where a command stands: pending → taken → done | failed; pending → cancelled (the asker gave up). */
export type CommandOutcome = { state: 'pending' | 'taken' | 'done' | 'cancelled' } | { state: 'failed'; error: Error };

/** Context keys kept with a refusal (the API shows the same public ones). */
const KEPT_CONTEXT = ['service', 'rolloutId', 'activeRolloutId', 'state', 'command'];

/**
 * smgr_rollout_commands (migration 0011): rollout commands asked through a
 * controller that does not lead, for the leader to apply. Rows come from
 * MySQL only, never from Redis: what the leader applies is what an
 * authenticated operator asked on some controller's API.
 */
export class RolloutCommands {
  constructor(private readonly pool: DbPool) {}

  /** Records a command for the leader; returns its id. */
  async request(rolloutId: number, command: RolloutCommand, by: string): Promise<number> {
    const [res] = await this.pool.query<ResultSetHeader>(
      "INSERT INTO smgr_rollout_commands (rollout_id, command, requested_by, requested_at, state) VALUES (?, ?, ?, NOW(3), 'pending')",
      [rolloutId, command, by.slice(0, 64)],
    );
    return res.insertId;
  }

  /** The pending commands, oldest first, each taken by this call (another caller cannot take it too). */
  async take(limit = 100): Promise<PendingCommand[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT id, rollout_id, command, requested_by FROM smgr_rollout_commands WHERE state = 'pending' ORDER BY id LIMIT ?",
      [limit],
    );
    const out: PendingCommand[] = [];
    for (const r of rows) {
      const [res] = await this.pool.query<ResultSetHeader>("UPDATE smgr_rollout_commands SET state = 'taken' WHERE id = ? AND state = 'pending'", [r.id]);
      if (res.affectedRows !== 1) continue;
      const command = String(r.command) as RolloutCommand;
      if (!ROLLOUT_COMMANDS.includes(command)) {
        await this.finish(Number(r.id), new RefusedError('INVALID_COMMAND', `unknown rollout command ${command}`));
        continue;
      }
      out.push({ id: Number(r.id), rolloutId: Number(r.rollout_id), command, by: String(r.requested_by) });
    }
    return out;
  }

  /** The leader's outcome: done, or the error the command was refused with. */
  async finish(id: number, err?: unknown): Promise<void> {
    if (err === undefined) {
      await this.pool.query("UPDATE smgr_rollout_commands SET state = 'done', finished_at = NOW(3) WHERE id = ?", [id]);
      return;
    }
    const e = err instanceof SmgrError ? err : new UnavailableError('COMMAND_FAILED', 'the leader could not apply the command; see its log');
    const kind = e instanceof NotFoundError ? 'not_found' : e instanceof RefusedError ? 'refused' : 'unavailable';
    const context = Object.fromEntries(Object.entries(e.context).filter(([k]) => KEPT_CONTEXT.includes(k)));
    await this.pool.query(
      "UPDATE smgr_rollout_commands SET state = 'failed', error_kind = ?, error_code = ?, error_message = ?, error_context = ?, finished_at = NOW(3) WHERE id = ?",
      [kind, e.code.slice(0, 64), e.message.slice(0, 1024), JSON.stringify(context).slice(0, 2048), id],
    );
  }

  /** Withdraws a command no leader took yet; false once it was taken. */
  async cancel(id: number): Promise<boolean> {
    const [res] = await this.pool.query<ResultSetHeader>(
      "UPDATE smgr_rollout_commands SET state = 'cancelled', finished_at = NOW(3) WHERE id = ? AND state = 'pending'",
      [id],
    );
    return res.affectedRows === 1;
  }

  async outcome(id: number): Promise<CommandOutcome> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT state, error_kind, error_code, error_message, error_context FROM smgr_rollout_commands WHERE id = ?',
      [id],
    );
    const r = rows[0];
    if (!r) return { state: 'cancelled' };
    if (r.state !== 'failed') return { state: r.state as 'pending' | 'taken' | 'done' | 'cancelled' };
    let context: Record<string, unknown> = {};
    try {
      context = JSON.parse(String(r.error_context ?? '{}')) as Record<string, unknown>;
    } catch {
      // kept empty
    }
    const code = String(r.error_code ?? 'COMMAND_FAILED');
    const message = String(r.error_message ?? '');
    const error =
      r.error_kind === 'not_found'
        ? new NotFoundError(message, { context })
        : r.error_kind === 'refused'
          ? new RefusedError(code, message, { context })
          : new UnavailableError(code, message, { context });
    return { state: 'failed', error };
  }

  /** Deletes rows finished more than `days` ago, and those a leader took and never finished (it died). */
  async prune(days = 1): Promise<void> {
    await this.pool.query(
      'DELETE FROM smgr_rollout_commands WHERE finished_at < NOW(3) - INTERVAL ? DAY OR (finished_at IS NULL AND requested_at < NOW(3) - INTERVAL ? DAY)',
      [days, days],
    );
  }
}
