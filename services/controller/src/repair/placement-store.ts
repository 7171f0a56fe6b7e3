import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { NotFoundError, type PlacementView } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';

/** A PROCESE row named by id or by name. */
export type ProcessRef = { processId: number } | { name: string };

function describe(ref: ProcessRef): string {
  return 'processId' in ref ? `id ${ref.processId}` : `named ${JSON.stringify(ref.name)}`;
}

/**
 * Writes and lists explicit placements (smgr_placement): which host repairs
 * a PROCESE row, and as which service. Reading them for repairs stays with
 * the incident store.
 */
export class PlacementStore {
  constructor(private readonly pool: DbPool) {}

  async list(): Promise<PlacementView[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT pl.process_id, p.process_name, pl.host_id, pl.service
         FROM smgr_placement pl LEFT JOIN PROCESE p ON p.process_id = pl.process_id
        ORDER BY pl.process_id, pl.host_id`,
    );
    return rows.map(toView);
  }

  /**
   * Places a process on a host (replacing the service of an existing row for
   * that pair). Resolves with the row and whether it was new.
   * @throws NotFoundError when no PROCESE row matches, or a name matches several
   */
  async place(ref: ProcessRef, hostId: string, service: string | null): Promise<{ placement: PlacementView; created: boolean }> {
    return withTransaction(this.pool, async (c) => {
      const [procs] = await c.query<RowDataPacket[]>(
        'processId' in ref
          ? 'SELECT process_id, process_name FROM PROCESE WHERE process_id = ?'
          : 'SELECT process_id, process_name FROM PROCESE WHERE process_name = ?',
        ['processId' in ref ? ref.processId : ref.name],
      );
      if (procs.length === 0) throw new NotFoundError(`no process ${describe(ref)} in PROCESE (add it with smgr process add NAME)`);
      if (procs.length > 1) {
        throw new NotFoundError(`${procs.length} processes are ${describe(ref)} (ids ${procs.map((p) => Number(p.process_id)).join(', ')}); name one by id`);
      }
      const processId = Number(procs[0]!.process_id);
      const [res] = await c.query<ResultSetHeader>(
        'INSERT INTO smgr_placement (process_id, host_id, service) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE service = VALUES(service)',
        [processId, hostId, service],
      );
      return {
        // affectedRows: 1 inserted, 2 updated, 0 unchanged (MySQL's ON DUPLICATE KEY convention).
        created: res.affectedRows === 1,
        placement: { processId, processName: String(procs[0]!.process_name), hostId, service },
      };
    });
  }

  /**
   * Removes a process's placements (on one host, or all); resolves with the
   * rows removed.
   * @throws NotFoundError when nothing matched
   */
  async unplace(ref: ProcessRef, hostId?: string): Promise<PlacementView[]> {
    return withTransaction(this.pool, async (c) => {
      const where = 'processId' in ref ? 'pl.process_id = ?' : 'p.process_name = ?';
      const args: unknown[] = ['processId' in ref ? ref.processId : ref.name];
      if (hostId !== undefined) args.push(hostId);
      const [rows] = await c.query<RowDataPacket[]>(
        `SELECT pl.process_id, p.process_name, pl.host_id, pl.service
           FROM smgr_placement pl LEFT JOIN PROCESE p ON p.process_id = pl.process_id
          WHERE ${where}${hostId !== undefined ? ' AND pl.host_id = ?' : ''} FOR UPDATE`,
        args,
      );
      if (rows.length === 0) {
        throw new NotFoundError(`no placement of the process ${describe(ref)}${hostId !== undefined ? ` on ${hostId}` : ''}`);
      }
      for (const r of rows) {
        await c.query('DELETE FROM smgr_placement WHERE process_id = ? AND host_id = ?', [r.process_id, r.host_id]);
      }
      return rows.map(toView);
    });
  }
}

function toView(r: RowDataPacket): PlacementView {
  return {
    processId: Number(r.process_id),
    processName: r.process_name === null ? '' : String(r.process_name),
    hostId: String(r.host_id),
    service: (r.service as string | null) ?? null,
  };
}
