import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RowDataPacket } from 'mysql2/promise';
import fastifyStatic from '@fastify/static';
import type { DbPool } from '../../db/pool.js';
import { ApiError } from '../http-errors.js';
import type { ConsoleFeed } from './console-feed.js';
import { CSRF_HEADER, SESSION_COOKIE, csrfTokenOf } from './session-secret.js';
import type { SessionStore } from './session-store.js';

/** What the console routes need besides the API's own dependencies. */
export interface ConsoleDeps {
  sessions: SessionStore;
  feed: ConsoleFeed;
  /** Built assets (findConsoleAssets); null: /ui says how to build them. */
  assetsDir: string | null;
  /** Set the Secure attribute on the session cookie (the API runs HTTPS). */
  secureCookies: boolean;
}

/**
 * Served with every console page: nothing but this origin may be loaded or
 * connected to (no CDN, no inline script), and no other site may frame it.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const ASSET_RE = /^[a-z0-9][a-z0-9.-]{0,63}\.(?:js|css|svg|map)$/;

/**
 * The web console on the API listener: its page and assets (public: they
 * hold no data), sign-in with an API token (POST /ui/session → session
 * cookie + CSRF token), who am I (GET), sign-out (DELETE), the live feed
 * (GET /ui/events, Server-Sent Events) and a few reads the pages need that
 * the JSON API does not offer on its own (GET /ui/api/overview).
 */
export async function registerConsoleRoutes(
  app: FastifyInstance,
  deps: { pool: DbPool; tokens: { verify(token: string): Promise<import('../auth/token-store.js').Principal | null> } },
  c: ConsoleDeps,
): Promise<void> {
  if (c.assetsDir !== null) {
    // sendFile only: the routes below declare their roles like every other route.
    await app.register(fastifyStatic, { root: c.assetsDir, serve: false, etag: true, lastModified: true });
  }
  const page = async (_req: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(PAGE_HEADERS);
    if (c.assetsDir === null) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('smgr console assets are not built: run `npm run build` (packages/console) and restart the controller\n');
    }
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  };
  app.get('/ui', { config: { role: 'public' }, schema: { hide: true } }, page);
  app.get<{ Params: { file: string } }>('/ui/assets/:file', { config: { role: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const file = req.params.file;
    if (c.assetsDir === null || !ASSET_RE.test(file)) throw new ApiError(404, 'NOT_FOUND', `no console asset ${file.slice(0, 80)}`);
    void reply.headers(PAGE_HEADERS);
    return reply.sendFile(`assets/${file}`);
  });

  app.post<{ Body: { token: string } }>(
    '/ui/session',
    {
      config: { role: 'public', action: 'session.signin' },
      schema: {
        summary: 'console sign-in: trade an API token for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS)',
        description: `Answers the session's CSRF token: send it in the ${CSRF_HEADER} header with every change made with the cookie.`,
        tags: ['console'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token'],
          properties: { token: { type: 'string', minLength: 1, maxLength: 200 } },
        },
      },
    },
    async (req, reply) => {
      const principal = await deps.tokens.verify(req.body.token.trim());
      if (!principal) throw new ApiError(401, 'UNAUTHENTICATED', 'unknown, revoked or expired token');
      req.principal = principal;
      const { secret, expiresAt } = await c.sessions.create(principal, req.ip ?? null);
      void reply.setCookie(SESSION_COOKIE, secret, {
        httpOnly: true,
        secure: c.secureCookies,
        sameSite: 'strict',
        path: '/',
        expires: expiresAt,
      });
      req.auditNote = { ...req.auditNote, target: `session:${principal.name}` };
      void reply.code(201).header('cache-control', 'no-store');
      return { name: principal.name, role: principal.role, csrf: csrfTokenOf(secret), expiresAt: expiresAt.toISOString() };
    },
  );

  app.get(
    '/ui/session',
    {
      config: { role: 'viewer' },
      schema: { summary: 'who the console is signed in as, its CSRF token (null with a bearer token) and expiry', tags: ['console'] },
    },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      const s = req.consoleSession;
      return {
        name: req.principal!.name,
        role: req.principal!.role,
        csrf: s === null ? null : csrfTokenOf(s.secret),
        expiresAt: s === null ? null : s.expiresAt.toISOString(),
      };
    },
  );

  app.delete(
    '/ui/session',
    {
      config: { role: 'viewer', action: 'session.signout', target: (req) => `session:${req.principal?.name ?? '?'}` },
      schema: { summary: 'console sign-out: the session ends at once', tags: ['console'] },
    },
    async (req, reply) => {
      const s = req.consoleSession;
      if (s !== null) await c.sessions.end(s.secret);
      void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: c.secureCookies, sameSite: 'strict' });
      return { signedOut: s !== null };
    },
  );

  app.get(
    '/ui/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'live console feed (Server-Sent Events): alarms, history, hosts, rollouts, operations; resumes with Last-Event-ID',
        tags: ['console'],
        headers: { type: 'object', properties: { 'last-event-id': { type: 'string', maxLength: 64 } } },
      },
    },
    async (req, reply) => {
      if (!c.feed.hasRoom()) {
        void reply.header('retry-after', '10');
        throw new ApiError(503, 'TOO_MANY_STREAMS', 'too many console streams open (api.console_max_clients); retry later');
      }
      const principal = req.principal!;
      const session = req.consoleSession;
      const header = req.headers['last-event-id'];
      const stillValid = session !== null ? async () => (await c.sessions.verify(session.secret))?.principal.role === principal.role : async () => true;
      reply.hijack();
      try {
        await c.feed.attach(reply.raw, principal.role, typeof header === 'string' ? header : undefined, stillValid);
      } catch (err) {
        req.log.warn({ err }, 'console stream not opened');
        if (!reply.raw.headersSent) reply.raw.writeHead(503, { 'content-type': 'application/json', 'retry-after': '2' });
        reply.raw.end(
          reply.raw.headersSent ? undefined : JSON.stringify({ error: 'UNAVAILABLE', message: 'the console feed cannot read the database now; retrying' }),
        );
      }
    },
  );

  app.get(
    '/ui/api/overview',
    {
      config: { role: 'viewer' },
      schema: { summary: 'what the console pages show beside the JSON API: open breakers, last known service versions, recent operations', tags: ['console'] },
    },
    async () => overview(deps.pool),
  );
}

async function overview(pool: DbPool) {
  const now = new Date();
  const [breakers] = await pool.query<RowDataPacket[]>(
    `SELECT b.process_id, p.process_name, b.host_id, b.consecutive_failures, b.open_until
       FROM smgr_breakers b LEFT JOIN PROCESE p ON p.process_id = b.process_id
      WHERE b.open_until > ? ORDER BY b.open_until DESC LIMIT 500`,
    [now],
  );
  // The newest version each host reported for each service, from operations and rollouts.
  const [versions] = await pool.query<RowDataPacket[]>(
    `SELECT host_id, service, version, at FROM (
        SELECT h.host_id, o.service, h.version, h.finished_at AS at
          FROM smgr_operation_hosts h JOIN smgr_operations o ON o.id = h.operation_id
         WHERE h.version <> '' AND h.finished_at IS NOT NULL
        UNION ALL
        SELECT h.host_id, r.service, h.current_version AS version, h.updated_at AS at
          FROM smgr_rollout_hosts h JOIN smgr_rollouts r ON r.id = h.rollout_id
         WHERE h.current_version IS NOT NULL AND h.current_version <> '' AND h.updated_at IS NOT NULL
      ) v ORDER BY at DESC LIMIT 5000`,
  );
  const latest = new Map<string, { hostId: string; service: string; version: string; at: string }>();
  for (const v of versions) {
    const key = `${v.host_id}\u0000${v.service}`;
    if (!latest.has(key))
      latest.set(key, { hostId: String(v.host_id), service: String(v.service), version: String(v.version), at: (v.at as Date).toISOString() });
  }
  const [operations] = await pool.query<RowDataPacket[]>(
    `SELECT o.id, o.operation, o.service, o.version, o.state, o.created_by, o.created_at, o.finished_at, COUNT(h.host_id) AS hosts
       FROM smgr_operations o LEFT JOIN smgr_operation_hosts h ON h.operation_id = o.id
      GROUP BY o.id ORDER BY o.created_at DESC LIMIT 20`,
  );
  return {
    breakers: breakers.map((b) => ({
      processId: Number(b.process_id),
      name: (b.process_name as string | null) ?? null,
      hostId: String(b.host_id),
      consecutiveFailures: Number(b.consecutive_failures),
      openUntil: (b.open_until as Date).toISOString(),
    })),
    versions: [...latest.values()],
    operations: operations.map((o) => ({
      id: String(o.id),
      operation: String(o.operation),
      service: String(o.service),
      version: (o.version as string | null) ?? null,
      state: String(o.state),
      createdBy: String(o.created_by),
      createdAt: (o.created_at as Date).toISOString(),
      finishedAt: o.finished_at === null ? null : (o.finished_at as Date).toISOString(),
      hosts: Number(o.hosts),
    })),
  };
}
