import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http-errors.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfTokenOf, sameCsrf } from './session-secret.js';
import type { SessionStore } from './session-store.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates a request by the console's session cookie, when it has one
 * (the bearer header is checked by the caller otherwise). Sets
 * `req.principal` and `req.consoleSession`; returns false when there is no
 * cookie. A change (any method but GET/HEAD/OPTIONS) must also carry the
 * session's CSRF token, and an Origin header, when sent, must be this
 * server's: a page on another site cannot act with the cookie even where
 * SameSite=Strict is not enforced.
 * @throws ApiError 401 for an unknown or expired session, 403 for a change without its CSRF token
 */
export async function sessionPrincipal(req: FastifyRequest, sessions: SessionStore): Promise<boolean> {
  const secret = req.cookies?.[SESSION_COOKIE];
  if (secret === undefined || secret === '') return false;
  const session = await sessions.verify(secret);
  if (!session) throw new ApiError(401, 'UNAUTHENTICATED', 'the console session has expired or was signed out: sign in again');
  req.principal = session.principal;
  req.consoleSession = { secret, expiresAt: session.expiresAt };
  if (SAFE_METHODS.has(req.method)) return true;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${req.protocol}://${req.host}`) {
    throw new ApiError(403, 'CSRF', `a change from origin ${origin.slice(0, 100)} with the console session cookie is refused`);
  }
  const presented = req.headers[CSRF_HEADER];
  if (!sameCsrf(typeof presented === 'string' ? presented : undefined, csrfTokenOf(secret))) {
    throw new ApiError(403, 'CSRF', `a change with the console session cookie needs its CSRF token in the ${CSRF_HEADER} header`);
  }
  return true;
}
