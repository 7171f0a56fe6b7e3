import type { FastifyInstance } from 'fastify';
import { SMGR_VERSION, type StatusView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';

const DB_PING_TIMEOUT_MS = 2_000;

/** GET /healthz (public), GET /v1/status (viewer), GET /metrics (viewer, when the controller has metrics). */
export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/healthz',
    {
      config: { role: 'public' },
      schema: {
        summary: 'liveness and database reachability (no token needed)',
        security: [],
      },
    },
    async (_req, reply) => {
      let database = 'ok';
      try {
        await withTimeout(deps.pool.query('SELECT 1'), DB_PING_TIMEOUT_MS);
      } catch {
        database = 'unavailable';
      }
      const connected = deps.hosts.all().filter((a) => a.connected).length;
      void reply.code(database === 'ok' ? 200 : 503);
      return { status: database === 'ok' ? 'ok' : 'degraded', database, agentsConnected: connected, controllerId: deps.controllerId, version: SMGR_VERSION };
    },
  );

  app.get(
    '/v1/status',
    { config: { role: 'viewer' }, schema: { summary: 'fleet overview: hosts, alarms, open incidents, active rollouts' } },
    async (): Promise<StatusView> => {
      const agents = deps.hosts.all();
      const [[alarms], [incidents], active] = await Promise.all([
        deps.pool.query('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma = 1'),
        deps.pool.query('SELECT COUNT(*) AS n FROM smgr_incidents WHERE open_key IS NOT NULL'),
        deps.rollouts.list({ active: true, limit: 100 }),
      ]);
      return {
        controllerId: deps.controllerId,
        version: SMGR_VERSION,
        hosts: { total: agents.length, connected: agents.filter((a) => a.connected).length },
        alarms: Number((alarms as { n: number }[])[0]?.n ?? 0),
        openIncidents: Number((incidents as { n: number }[])[0]?.n ?? 0),
        activeRollouts: active.map((r) => ({ id: r.id, service: r.service, version: r.version, state: r.state, hostCounts: r.hostCounts })),
      };
    },
  );

  const metrics = deps.metrics;
  if (metrics) {
    app.get('/metrics', { config: { role: 'viewer' }, schema: { summary: 'Prometheus metrics (text format)' } }, async (_req, reply) => {
      void reply.header('content-type', metrics.contentType);
      return metrics.metrics();
    });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]);
}
