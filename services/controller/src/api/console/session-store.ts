import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../../db/pool.js';
import { isRole } from '../auth/roles.js';
import type { Principal } from '../auth/token-store.js';
import { looksLikeSessionSecret, newSessionSecret, sessionIdHash } from './session-secret.js';

/** A signed-in console session as a request sees it. */
export interface ConsoleSession {
  principal: Principal;
  expiresAt: Date;
}

/**
 * smgr_console_sessions (migration 0010): console sign-ins. The cookie holds
 * a random secret; the table holds its SHA-256, the token it acts as and an
 * absolute expiry (never later than the token's own). A session is valid
 * only while its token is: revoke the token and its sessions stop working.
 */
export class SessionStore {
  private lastPrune = 0;

  constructor(
    private readonly pool: DbPool,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session for a verified token; returns the cookie secret (kept nowhere) and its expiry. */
  async create(principal: Principal, remoteAddr: string | null): Promise<{ secret: string; expiresAt: Date }> {
    await this.prune();
    const secret = newSessionSecret();
    const at = new Date(this.now());
    let expiresAt = new Date(at.getTime() + this.ttlMs);
    const [tokens] = await this.pool.query<RowDataPacket[]>('SELECT expires_at FROM smgr_api_tokens WHERE name = ?', [principal.name]);
    const tokenExpiresAt = tokens[0]?.expires_at;
    if (tokenExpiresAt instanceof Date && tokenExpiresAt < expiresAt) expiresAt = tokenExpiresAt;
    await this.pool.query('INSERT INTO smgr_console_sessions (id_hash, token_name, created_at, expires_at, remote_addr) VALUES (?, ?, ?, ?, ?)', [
      sessionIdHash(secret),
      principal.name,
      at,
      expiresAt,
      remoteAddr?.slice(0, 64) ?? null,
    ]);
    return { secret, expiresAt };
  }

  /** The session a cookie secret stands for; null when unknown, expired, or its token is revoked or expired. */
  async verify(secret: string): Promise<ConsoleSession | null> {
    if (!looksLikeSessionSecret(secret)) return null;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT s.expires_at, t.name, t.role, t.expires_at AS token_expires_at, t.revoked_at
         FROM smgr_console_sessions s JOIN smgr_api_tokens t ON t.name = s.token_name
        WHERE s.id_hash = ?`,
      [sessionIdHash(secret)],
    );
    const row = rows[0];
    if (!row) return null;
    const now = this.now();
    if (!(row.expires_at instanceof Date) || row.expires_at.getTime() <= now) return null;
    if (row.revoked_at !== null) return null;
    if (row.token_expires_at instanceof Date && row.token_expires_at.getTime() <= now) return null;
    if (!isRole(row.role)) return null;
    return { principal: { name: row.name as string, role: row.role }, expiresAt: row.expires_at };
  }

  /** Sign-out: the session stops working at once. Unknown secrets are ignored. */
  async end(secret: string): Promise<boolean> {
    if (!looksLikeSessionSecret(secret)) return false;
    const [res] = await this.pool.query<ResultSetHeader>('DELETE FROM smgr_console_sessions WHERE id_hash = ?', [sessionIdHash(secret)]);
    return res.affectedRows > 0;
  }

  /** Deletes expired sessions, at most once a minute (called on sign-in). */
  async prune(): Promise<void> {
    const now = this.now();
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    await this.pool.query('DELETE FROM smgr_console_sessions WHERE expires_at <= ?', [new Date(now)]);
  }
}
