import { SmgrError, UnavailableError, type SmgrErrorOptions } from '@smgr/shared';

/** An error that already knows its HTTP status (authentication, authorisation, request shape). */
export class ApiError extends SmgrError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    opts: SmgrErrorOptions = {},
  ) {
    super(code, message, opts);
  }
}

/** A field named in a 400 answer. */
export interface FieldProblem {
  /** Where: body, querystring, params, headers. */
  in: string;
  /** Dotted path inside it ('' for the whole part). */
  field: string;
  message: string;
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
  fields?: FieldProblem[];
  details?: Record<string, unknown>;
}

/**
 * The one place SmgrError codes become HTTP statuses. Codes not listed are
 * 500s; a retryable UnavailableError is a 503.
 */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  NOT_FOUND: 404,
  INVALID_REQUEST: 400,
  INVALID_TOKEN_NAME: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ROLLOUT_ACTIVE: 409,
  INVALID_TRANSITION: 409,
  TOKEN_EXISTS: 409,
  HOST_CONNECTED: 409,
  HOST_NOT_MANAGING: 422,
  SELECTOR_EMPTY: 422,
  HOSTS_DISCONNECTED: 422,
  INVALID_ROLLOUT: 422,
};

/** Context keys safe and useful to show a client. */
const PUBLIC_CONTEXT = new Set(['service', 'hosts', 'rolloutId', 'activeRolloutId', 'state', 'command', 'field', 'name', 'processIds']);

/** MySQL driver errors meaning "the database is not reachable now". */
const DB_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'EHOSTUNREACH']);

/** Status and body for any error a handler or hook threw. */
export function toHttpError(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof ApiError) {
    return { status: err.statusCode, body: { error: err.code, message: err.message, ...publicDetails(err) }, internal: false };
  }
  if (err instanceof SmgrError) {
    const status = STATUS_BY_CODE[err.code] ?? (err instanceof UnavailableError ? 503 : 500);
    return { status, body: { error: err.code, message: err.message, ...publicDetails(err) }, internal: status >= 500 };
  }
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (typeof e.code === 'string' && DB_UNAVAILABLE.has(e.code)) {
    return { status: 503, body: { error: 'DATABASE_UNAVAILABLE', message: 'the database is not reachable; try again' }, internal: true };
  }
  // Fastify's own client errors (bad JSON, wrong content type, body too large) carry a 4xx statusCode.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: e.code ?? 'BAD_REQUEST', message: e.message ?? 'bad request' }, internal: false };
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error; see the controller log' }, internal: true };
}

function publicDetails(err: SmgrError): { details?: Record<string, unknown> } {
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err.context)) if (PUBLIC_CONTEXT.has(k)) details[k] = v;
  return Object.keys(details).length > 0 ? { details } : {};
}

/** An ajv error as Fastify hands it over. */
interface AjvProblem {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * A 400 body naming every field ajv rejected, e.g.
 * `body.batchSize: must be integer; body.colour: unknown field`.
 */
export function validationBody(part: string, problems: readonly AjvProblem[]): ErrorBody {
  const seen = new Set<string>();
  const fields: FieldProblem[] = [];
  // A count-or-percentage (anyOf integer | "N%") fails both branches: say what is allowed, once.
  const alternatives = new Set(problems.filter((p) => p.keyword === 'anyOf').map((p) => p.instancePath));
  for (const p of alternatives) {
    const branches = problems.filter((x) => x.instancePath === p && x.keyword !== 'anyOf');
    if (branches.some((x) => x.keyword === 'pattern' && String(x.params.pattern).includes('%'))) {
      const minimum = branches.find((x) => x.keyword === 'minimum')?.params.limit;
      const field = p.replace(/^\//, '').replace(/\//g, '.');
      fields.push({ in: part, field, message: `must be a whole number${minimum === undefined ? '' : ` >= ${String(minimum)}`} or a percentage such as "25%"` });
      seen.add(`${field}\u0000*`);
    }
  }
  for (const p of problems) {
    // oneOf/anyOf repeat the branches' errors; the branch errors say more.
    if (p.keyword === 'oneOf' || p.keyword === 'anyOf' || p.keyword === 'if') continue;
    if (seen.has(`${p.instancePath.replace(/^\//, '').replace(/\//g, '.')}\u0000*`)) continue;
    let field = p.instancePath.replace(/^\//, '').replace(/\//g, '.');
    let message = p.message ?? p.keyword;
    if (p.keyword === 'additionalProperties') {
      field = [field, String(p.params.additionalProperty)].filter((x) => x !== '').join('.');
      message = 'unknown field';
    } else if (p.keyword === 'required') {
      field = [field, String(p.params.missingProperty)].filter((x) => x !== '').join('.');
      message = 'is required';
    }
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fields.push({ in: part, field, message });
  }
  const text = fields.map((f) => `${f.in}${f.field === '' ? '' : `.${f.field}`}: ${f.message}`).join('; ');
  return { error: 'INVALID_REQUEST', message: text === '' ? `invalid ${part}` : text, fields };
}
