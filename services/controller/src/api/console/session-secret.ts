import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The console's session cookie: HttpOnly, SameSite=Strict, Secure over TLS, scoped to /ui. */
export const SESSION_COOKIE = 'smgr_session';
/** Header that carries the CSRF token on every change made with a session cookie. */
export const CSRF_HEADER = 'x-smgr-csrf';
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

/** A new session secret: 32 random bytes, base64url (the cookie's value). */
export function newSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a cookie value has the shape of a session secret (checked before any lookup). */
export function looksLikeSessionSecret(text: string): boolean {
  return SECRET_RE.test(text);
}

/** Hex SHA-256 of a session secret, as stored in smgr_console_sessions.id_hash. */
export function sessionIdHash(secret: string): string {
  return createHash('sha256').update(`smgr-session:${secret}`, 'utf8').digest('hex');
}

/**
 * The CSRF token of a session, derived from its secret: the page reads it
 * from GET /ui/session and sends it in `x-smgr-csrf`; a cross-site form or
 * fetch cannot (it can neither read the answer nor set the header without a
 * preflight). Different from the stored id hash, so a copy of the table
 * yields neither cookies nor CSRF tokens.
 */
export function csrfTokenOf(secret: string): string {
  return createHash('sha256').update(`smgr-csrf:${secret}`, 'utf8').digest('base64url');
}

/** Constant-time comparison of a presented CSRF token with the expected one. */
export function sameCsrf(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
