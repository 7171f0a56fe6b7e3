import type { FastifyRequest } from 'fastify';

/**
 * An audited route's `target` (what the change acts on), described from one
 * part of the request: its body, querystring or path parameters. The audit
 * row is written for refused requests too (no token, a body that failed
 * validation), so the part may be missing or anything: `describe` gets an
 * object whose every field may be absent.
 */
export function targetFrom<T>(part: 'body' | 'query' | 'params', describe: (x: Partial<T>) => string): (req: FastifyRequest) => string {
  return (req) => describe((req[part] ?? {}) as Partial<T>);
}

/** An audited route's `target` when the change acts on its path parameter `param`: `KIND:VALUE` ('?' when missing). */
export function paramTarget(kind: string, param: string): (req: FastifyRequest) => string {
  return targetFrom<Record<string, unknown>>('params', (p) => `${kind}:${p[param] ?? '?'}`);
}
