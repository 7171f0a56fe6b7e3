/** The console's calls to the controller's JSON API: same origin, the session cookie, the CSRF token on changes. */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Session {
  name: string;
  role: Role;
  csrf: string | null;
  expiresAt: string | null;
}

/** An API answer that is not 2xx: its status and the API's message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let onSignedOut: () => void = () => undefined;

export function setCsrf(token: string | null): void {
  csrf = token;
}

/** Called when the API answers 401: the session ended (expired, signed out elsewhere, token revoked). */
export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== null) headers['x-smgr-csrf'] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = { message: text };
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/ui/session') onSignedOut();
    throw new ApiFailure(res.status, String(parsed?.error ?? res.status), String(parsed?.message ?? res.statusText));
  }
  return parsed as T;
}

export const roleAtLeast = (role: Role, needed: Role): boolean =>
  ['viewer', 'operator', 'admin'].indexOf(role) >= ['viewer', 'operator', 'admin'].indexOf(needed);
