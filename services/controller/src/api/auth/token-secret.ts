import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every token starts so; makes a leaked token greppable (secret scanners) and recognisable. */
export const TOKEN_PREFIX = 'smgr_';
const TOKEN_RE = /^smgr_[A-Za-z0-9_-]{43}$/;

/**
 * A new bearer token: 32 random bytes, base64url. High-entropy secrets need no
 * slow KDF; only their SHA-256 is stored.
 */
export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of a token, as stored in smgr_api_tokens.token_hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether text has the shape of a token (checked before any lookup). */
export function looksLikeToken(text: string): boolean {
  return TOKEN_RE.test(text);
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
