import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';
import type { ClaimState } from './claim-approval.js';

/** One smgr_host_claims row. */
export interface ClaimRow {
  hostId: string;
  service: string;
  state: ClaimState;
  reason: string;
  decidedBy: string | null;
  updatedAt: Date;
}

type Tx = Pick<PoolConnection, 'query'>;

/** smgr_host_claims columns are VARCHAR(255) / (64). */
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const fromRow = (r: RowDataPacket): ClaimRow => ({
  hostId: r.host_id as string,
  service: r.service as string,
  state: r.state as ClaimState,
  reason: r.reason as string,
  decidedBy: (r.decided_by as string | null) ?? null,
  updatedAt: r.updated_at as Date,
});

/**
 * smgr_host_claims, the one module that writes it: first decisions (insert),
 * operator decisions (update), forgetting a host (delete, with its
 * smgr_agents row), and the reads that keep every controller's view current.
 */
export class ClaimStore {
  constructor(private readonly pool: DbPool) {}

  async loadAll(): Promise<ClaimRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_host_claims');
    return rows.map(fromRow);
  }

  /** Rows changed after `after` (another controller's decisions), and how many rows there are (a drop means deletions). */
  async changedSince(after: Date): Promise<{ rows: ClaimRow[]; total: number }> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_host_claims WHERE updated_at > ?', [after]);
    const [count] = await this.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM smgr_host_claims');
    return { rows: rows.map(fromRow), total: Number(count[0]!.n) };
  }

  async isEmpty(): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT 1 FROM smgr_host_claims LIMIT 1');
    return rows.length === 0;
  }

  /**
   * First decisions; returns how many were new. A claim already in the
   * table (decided by another controller) keeps its row, and the caller
   * must read it back.
   */
  async insertMany(rows: readonly ClaimRow[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000).map((r) => [r.hostId, r.service, r.state, cut(r.reason, 255), r.decidedBy, r.updatedAt, r.updatedAt]);
      const [res] = await this.pool.query<ResultSetHeader>(
        'INSERT IGNORE INTO smgr_host_claims (host_id, service, state, reason, decided_by, first_seen, updated_at) VALUES ?',
        [chunk],
      );
      inserted += res.affectedRows;
    }
    return inserted;
  }

  /** An operator's decision on some of a host's claims. */
  async setState(hostId: string, services: readonly string[], state: ClaimState, reason: string, by: string, at: Date): Promise<void> {
    if (services.length === 0) return;
    await this.pool.query('UPDATE smgr_host_claims SET state = ?, reason = ?, decided_by = ?, updated_at = ? WHERE host_id = ? AND service IN (?)', [
      state,
      cut(reason, 255),
      cut(by, 64),
      at,
      hostId,
      services,
    ]);
  }

  /** Deletes a host's claims (forgetting a host, inside the caller's transaction). */
  async deleteHost(c: Tx, hostId: string): Promise<number> {
    const [res] = await c.query<ResultSetHeader>('DELETE FROM smgr_host_claims WHERE host_id = ?', [hostId]);
    return res.affectedRows;
  }

  /**
   * Of `names`, those a PROCESE row carries as its exact process_name with no
   * smgr_placement row: the rows placed through claims.
   */
  async plainRowNames(names: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < names.length; i += 1000) {
      const [rows] = await this.pool.query<RowDataPacket[]>(
        `SELECT DISTINCT p.process_name FROM PROCESE p
          WHERE p.process_name IN (?) AND NOT EXISTS (SELECT 1 FROM smgr_placement pl WHERE pl.process_id = p.process_id)`,
        [names.slice(i, i + 1000)],
      );
      for (const r of rows) out.add(r.process_name as string);
    }
    return out;
  }
}
