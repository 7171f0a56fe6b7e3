import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { NotFoundError, RefusedError, type TokenRevokeView, type TokenView } from '@smgr/shared';
import type { DbPool } from '../../db/pool.js';
import { isRole, type Role } from './roles.js';
import { hashToken, looksLikeToken, newTokenSecret, sameHash } from './token-secret.js';

const ER_DUP_ENTRY = 1062;
/** Token names appear in audit rows and logs: keep them plain. */
export const TOKEN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$';
const TOKEN_NAME_RE = new RegExp(TOKEN_NAME_PATTERN);
/** last_used_at is a hint, not a log: write it at most this often per token. */
const TOUCH_EVERY_MS = 60_000;

/** Who a request acts as. */
export interface Principal {
  name: string;
  role: Role;
}

/** A token as listed (never its secret or hash): the API's TokenView, shared with the CLI. */
export type TokenInfo = TokenView;

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);

/** smgr_api_tokens: bearer tokens stored as SHA-256 of their secret. */
export class TokenStore {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly pool: DbPool,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Creates a token and returns its secret, which is shown once and kept nowhere.
   * @throws RefusedError `INVALID_TOKEN_NAME`, `TOKEN_EXISTS`
   */
  async create(args: { name: string; role: Role; createdBy: string; ttlMs: number }): Promise<{ token: string; info: TokenInfo }> {
    if (!TOKEN_NAME_RE.test(args.name)) {
      throw new RefusedError('INVALID_TOKEN_NAME', `token name must match ${TOKEN_NAME_PATTERN}`, { context: { field: 'name' } });
    }
    const token = newTokenSecret();
    const at = new Date(this.now());
    const expires = args.ttlMs > 0 ? new Date(at.getTime() + args.ttlMs) : null;
    try {
      await this.pool.query('INSERT INTO smgr_api_tokens (name, role, token_hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
        args.name,
        args.role,
        hashToken(token),
        at,
        args.createdBy,
        expires,
      ]);
    } catch (err) {
      if ((err as { errno?: number }).errno === ER_DUP_ENTRY) {
        throw new RefusedError('TOKEN_EXISTS', `a token named ${args.name} already exists; revoke it or pick another name`, {
          context: { name: args.name },
        });
      }
      throw err;
    }
    return {
      token,
      info: {
        name: args.name,
        role: args.role,
        createdAt: at.toISOString(),
        createdBy: args.createdBy,
        expiresAt: expires?.toISOString() ?? null,
        lastUsedAt: null,
        revokedAt: null,
      },
    };
  }

  /** The principal a bearer token stands for; null when unknown, revoked or expired. */
  async verify(token: string): Promise<Principal | null> {
    if (!looksLikeToken(token)) return null;
    const hash = hashToken(token);
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT name, role, token_hash, expires_at, revoked_at FROM smgr_api_tokens WHERE token_hash = ?', [
      hash,
    ]);
    const row = rows[0];
    if (!row || !sameHash(row.token_hash as string, hash)) return null;
    if (row.revoked_at !== null) return null;
    if (row.expires_at instanceof Date && row.expires_at.getTime() <= this.now()) return null;
    if (!isRole(row.role)) return null;
    const name = row.name as string;
    this.touch(name);
    return { name, role: row.role };
  }

  async list(): Promise<TokenInfo[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_api_tokens ORDER BY name');
    return rows.map((r) => ({
      name: r.name as string,
      role: r.role as Role,
      createdAt: iso(r.created_at) ?? '',
      createdBy: r.created_by as string,
      expiresAt: iso(r.expires_at),
      lastUsedAt: iso(r.last_used_at),
      revokedAt: iso(r.revoked_at),
    }));
  }

  /**
   * Revokes a token by name; it stops working at once. Revoking twice is not an error.
   * @throws NotFoundError when no token has that name
   */
  async revoke(name: string): Promise<TokenRevokeView> {
    const at = new Date(this.now());
    const [res] = await this.pool.query<ResultSetHeader>('UPDATE smgr_api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?', [at, name]);
    if (res.affectedRows === 0) throw new NotFoundError(`no token named ${name}`, { context: { name } });
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT revoked_at FROM smgr_api_tokens WHERE name = ?', [name]);
    return { name, revokedAt: iso(rows[0]?.revoked_at) ?? at.toISOString() };
  }

  private touch(name: string): void {
    const now = this.now();
    if ((this.touched.get(name) ?? 0) + TOUCH_EVERY_MS > now) return;
    this.touched.set(name, now);
    this.pool.query('UPDATE smgr_api_tokens SET last_used_at = ? WHERE name = ?', [new Date(now), name]).catch(() => undefined);
  }
}
