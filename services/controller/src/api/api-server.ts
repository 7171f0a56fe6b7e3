import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import cookie from '@fastify/cookie';
import { readPem, SMGR_VERSION, type Logger } from '@smgr/shared';
import type { ApiDeps } from './api-types.js';
import type { AuditOutcome } from './audit/audit-log.js';
import { roleAllows } from './auth/roles.js';
import { requireRouteRoles } from './auth/route-roles.js';
import { ApiError, toHttpError, validationBody } from './http-errors.js';
import { registerRouteGroups } from './routes/route-groups.js';
import { LogThrottle } from '../limits/log-throttle.js';
import { registerConsoleRoutes } from './console/console-routes.js';
import { sessionPrincipal } from './console/console-auth.js';

/** How the API listens. */
export interface ApiListenOptions {
  /** host:port (port 0 picks one). */
  listen: string;
  /** Plain HTTP; otherwise cert and key (PEM file paths) are required. */
  insecure: boolean;
  cert: string;
  key: string;
  /** Named in a ConfigError when a PEM file cannot be read. */
  configSource: string;
}

const BODY_LIMIT = 256 * 1024;

/**
 * The controller's HTTP JSON API (Fastify): schema-validated requests, an
 * OpenAPI document at /openapi.json, bearer tokens with roles (viewer <
 * operator < admin) checked before anything else, and an audit row for every
 * change attempted, written before the answer is sent.
 */
export class ApiServer {
  readonly app: FastifyInstance;
  private readonly log: Logger;
  private started = false;
  /** One line per client address and status every 10 s: a flood of bad tokens is not a flood of log lines. */
  private readonly refusalLog = new LogThrottle(10_000);

  constructor(
    private readonly deps: ApiDeps,
    private readonly listenOpts: ApiListenOptions,
  ) {
    this.log = deps.log.child({ component: 'api' });
    const common = {
      logger: false,
      bodyLimit: BODY_LIMIT,
      // Unknown fields are errors (400 naming them), not silently dropped.
      ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' as const } },
      routerOptions: { ignoreTrailingSlash: true },
    };
    this.app = (listenOpts.insecure
      ? Fastify(common)
      : Fastify({
          ...common,
          https: { cert: readPem(listenOpts.cert, 'api.cert', listenOpts.configSource), key: readPem(listenOpts.key, 'api.key', listenOpts.configSource) },
        })) as unknown as FastifyInstance;
  }

  /**
   * Reads api.cert and api.key again and serves them to new connections
   * (Node's tls.Server.setSecureContext; open connections keep theirs). A
   * file that cannot be read throws and the running certificate stays.
   */
  reloadCertificate(): void {
    if (this.listenOpts.insecure) return;
    const cert = readPem(this.listenOpts.cert, 'api.cert', this.listenOpts.configSource);
    const key = readPem(this.listenOpts.key, 'api.key', this.listenOpts.configSource);
    (this.app.server as unknown as { setSecureContext(o: { cert: Buffer; key: Buffer }): void }).setSecureContext({ cert, key });
  }

  /** Registers everything and listens; returns the bound port. */
  async start(): Promise<number> {
    const app = this.app;
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'smgr controller API',
          version: SMGR_VERSION,
          description:
            'Hosts, services, alarms, operations, events and rolling updates. Authenticate with "Authorization: Bearer <token>"; roles viewer < operator < admin.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });
    app.decorateRequest('principal', null);
    app.decorateRequest('auditNote', null);
    app.decorateRequest('consoleSession', null);
    // Parses cookies only; the console's session cookie is read in authenticate().
    await app.register(cookie);
    requireRouteRoles(app);
    // Before authentication, so a flood of bad tokens costs no token lookup.
    const limit = this.deps.rateLimit;
    if (limit !== undefined && limit.max > 0) {
      await app.register(rateLimit, { global: false, max: limit.max, timeWindow: limit.windowMs });
      const check = app.createRateLimit();
      app.addHook('onRequest', async (req, reply) => {
        const r = await check(req);
        if (r.isAllowed || !r.isExceeded) return;
        void reply.header('retry-after', String(r.ttlInSeconds));
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `more than ${r.max} requests from ${req.ip} within ${Math.round(limit.windowMs / 1000)} s; retry after ${r.ttlInSeconds} s`,
        );
      });
    }
    // Who (401) before anything is parsed; may they (403) once the body is read, so a denied change is audited with its target.
    app.addHook('onRequest', (req, _reply) => this.authenticate(req));
    app.addHook('preValidation', (req, _reply) => this.authorize(req));
    app.addHook('onSend', async (req, reply, payload) => {
      await this.audit(req, reply);
      return payload;
    });
    app.addHook('onResponse', async (req, reply) => {
      // Refused requests are counted and logged (throttled) by onError.
      if (reply.statusCode === 401 || reply.statusCode === 429) return;
      const change = req.routeOptions.config.action !== undefined;
      this.log[change ? 'info' : 'debug'](
        { method: req.method, url: req.url, statusCode: reply.statusCode, tokenName: req.principal?.name, durationMs: Math.round(reply.elapsedTime) },
        'api request',
      );
    });
    app.setErrorHandler((err: FastifyError, req, reply) => this.onError(err, req, reply));
    app.setNotFoundHandler((req, reply) => {
      void reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` });
    });

    await registerRouteGroups(app, this.deps);
    if (this.deps.console !== undefined) await registerConsoleRoutes(app, this.deps, this.deps.console);
    app.get('/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () => app.swagger());

    const { host, port } = splitHostPort(this.listenOpts.listen);
    await app.listen({ host, port });
    this.started = true;
    const address = app.server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    this.log.info({ listen: this.listenOpts.listen, port: bound, tls: !this.listenOpts.insecure }, 'api listening');
    return bound;
  }

  /**
   * Stops accepting requests and gives those in progress `graceMs` to finish;
   * then their connections are closed (an operation can wait on agents for
   * minutes, longer than a daemon may take to stop). Idempotent.
   */
  async stop(graceMs = 3_000): Promise<void> {
    if (!this.started) {
      await this.app.close().catch(() => undefined);
      return;
    }
    this.started = false;
    // Event streams never end by themselves: close them first, or they hold the listener for the whole grace.
    this.deps.console?.feed.stop();
    let timer: NodeJS.Timeout | undefined;
    const closed = this.app.close();
    const inTime = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      this.log.warn({ graceMs }, 'api requests still running at stop; closing their connections');
      (this.app.server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed.catch(() => undefined);
    }
  }

  private async authenticate(req: FastifyRequest): Promise<void> {
    req.auditNote = {};
    const needed = req.routeOptions.config.role;
    if (needed === 'public') return;
    if (needed === undefined) {
      // Only the not-found handler has no route config; a route without a role never starts (onRoute).
      if (req.is404) return;
      throw new ApiError(403, 'FORBIDDEN', 'this route declares no role and is refused');
    }
    const header = req.headers.authorization;
    if ((header === undefined || header === '') && this.deps.console !== undefined) {
      // The web console: a session cookie (and, on changes, its CSRF token) instead of a bearer header.
      const viaCookie = await sessionPrincipal(req, this.deps.console.sessions);
      if (viaCookie) return;
    }
    if (header === undefined || header === '') {
      throw new ApiError(401, 'UNAUTHENTICATED', 'missing bearer token: send "Authorization: Bearer <token>"');
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) throw new ApiError(401, 'UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    const principal = await this.deps.tokens.verify(m[1]!);
    if (!principal) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown, revoked or expired token');
    req.principal = principal;
  }

  private async authorize(req: FastifyRequest): Promise<void> {
    const needed = req.routeOptions.config.role;
    const principal = req.principal;
    if (needed === undefined || needed === 'public' || principal === null) return;
    if (!roleAllows(principal.role, needed)) {
      const what = req.routeOptions.config.action ?? `${req.method} ${req.routeOptions.url ?? req.url}`;
      throw new ApiError(403, 'FORBIDDEN', `token ${principal.name} has role ${principal.role}; ${what} needs ${needed} or higher`);
    }
  }

  private onError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
    if (err.validation) {
      const body = validationBody(err.validationContext ?? 'body', err.validation as never);
      req.auditNote = { ...req.auditNote, detail: { error: body.error, message: body.message } };
      void reply.code(400).send(body);
      return;
    }
    const { status, body, internal } = toHttpError(err);
    if (internal) this.log.error({ err, method: req.method, url: req.url }, 'api request failed');
    if (status === 401) void reply.header('www-authenticate', 'Bearer realm="smgr"');
    if (status === 401 || status === 429) this.refused(req, status, body.message);
    req.auditNote = { ...req.auditNote, detail: { error: body.error, message: body.message } };
    void reply.code(status).send(body);
  }

  /**
   * A request refused before anyone was identified (401) or for its rate
   * (429): counted, logged at most once per address and status every 10 s,
   * never an audit row (anyone could fill smgr_audit with them).
   */
  private refused(req: FastifyRequest, status: number, reason: string): void {
    this.deps.refusals?.inc({ status: String(status) });
    const hit = this.refusalLog.hit(`${status} ${req.ip}`);
    if (hit) {
      this.log.warn(
        { statusCode: status, remoteAddr: req.ip, method: req.method, url: req.url.slice(0, 200), reason, suppressed: hit.suppressed },
        'api request refused',
      );
    }
  }

  /**
   * Writes the audit row of a change attempted by an identified caller
   * (allowed, denied by role, rejected, failed) before its answer leaves; a
   * failed write is logged, never hidden.
   */
  private async audit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const cfg = req.routeOptions.config;
    if (cfg.action === undefined || req.method === 'GET') return;
    if (reply.statusCode === 401 || reply.statusCode === 429) return;
    const note = req.auditNote ?? {};
    let target = note.target;
    if (target === undefined) {
      try {
        target = cfg.target?.(req) ?? cfg.action;
      } catch {
        target = cfg.action;
      }
    }
    const status = reply.statusCode;
    const outcome: AuditOutcome =
      status < 400 ? (note.outcome ?? 'ok') : status === 401 ? 'unauthenticated' : status === 403 ? 'denied' : status < 500 ? 'rejected' : 'error';
    try {
      await this.deps.audit.record({
        tokenName: req.principal?.name ?? null,
        role: req.principal?.role ?? null,
        action: cfg.action,
        target,
        outcome,
        statusCode: status,
        remoteAddr: req.ip ?? null,
        ...(note.detail === undefined ? {} : { detail: note.detail }),
      });
    } catch (err) {
      this.log.error({ err, action: cfg.action, target, tokenName: req.principal?.name, statusCode: status }, 'audit row not written');
    }
  }
}

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(i + 1)) };
}
