import type { AuditOutcome, AuditRecordView } from '@smgr/shared';
import type { RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../../db/pool.js';
import { whereClause } from '../../db/where-clause.js';

export type { AuditOutcome };

/** One row of smgr_audit as written (the API's AuditRecordView, shared with the CLI, without id and time). */
export type AuditEntry = Omit<AuditRecordView, 'id' | 'at'>;

export type AuditRecord = AuditRecordView;

export interface AuditFilter {
  tokenName?: string;
  action?: string;
  limit?: number;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** smgr_audit: who changed what, when, and how it went. Rows are only ever added. */
/** The retention job's batch delete (retention/event-retention.ts): audit rows before `?`, at most `?` rows. */
export const DELETE_OLD_AUDIT_SQL = 'DELETE FROM smgr_audit WHERE at < ? ORDER BY at LIMIT ?';

export class AuditLog {
  constructor(
    private readonly pool: DbPool,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async record(e: AuditEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO smgr_audit (at, token_name, role, action, target, outcome, status_code, remote_addr, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        this.now(),
        e.tokenName,
        e.role,
        clip(e.action, 64),
        clip(e.target, 255),
        e.outcome,
        e.statusCode,
        e.remoteAddr === null ? null : clip(e.remoteAddr, 64),
        e.detail === undefined ? null : clip(JSON.stringify(e.detail), 60_000),
      ],
    );
  }

  /** Newest first. */
  async list(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const where = whereClause([
      ['token_name = ?', filter.tokenName],
      ['action = ?', filter.action],
    ]);
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM smgr_audit ${where.sql} ORDER BY id DESC LIMIT ?`, [
      ...where.args,
      filter.limit ?? 100,
    ]);
    return rows.map((r) => ({
      id: Number(r.id),
      at: (r.at as Date).toISOString(),
      tokenName: (r.token_name as string | null) ?? null,
      role: (r.role as string | null) ?? null,
      action: r.action as string,
      target: r.target as string,
      outcome: r.outcome as AuditOutcome,
      statusCode: Number(r.status_code),
      remoteAddr: (r.remote_addr as string | null) ?? null,
      ...(r.detail === null ? {} : { detail: safeParse(r.detail as string) }),
    }));
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
