import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '@smgr/shared';
import type { HostUsage } from '../../usage/service-usage-store.js';
import type { ApiDeps } from '../api-types.js';
import { hostIdSchema, serviceNameSchema } from './schemas.js';

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** A host's usage as the API shows it: the latest report, how old it is, and whether the agent is connected. */
function usageView(deps: ApiDeps, h: HostUsage, service: string | undefined) {
  return {
    hostId: h.hostId,
    connected: deps.hosts.get(h.hostId)?.connected ?? false,
    receivedAt: new Date(h.receivedAtMs).toISOString(),
    services: service === undefined ? h.services : h.services.filter((s) => s.service === service),
  };
}

/**
 * GET /v1/usage and /v1/hosts/:hostId/usage (viewer): what each service
 * costs, from the latest report of every agent in the fleet, whichever
 * controller it is connected to (memory, CPU, threads, open files,
 * processes, uptime, restarts).
 */
export function registerUsageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { service?: string; host?: string } }>(
    '/v1/usage',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'what each service costs on every host (the latest sample of each agent, on any controller)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            service: { ...serviceNameSchema, description: 'only this service' },
            host: { ...hostIdSchema, description: 'only this host' },
          },
        },
      },
    },
    async (req) => {
      const all = (await deps.usage?.all()) ?? [];
      const hosts = all
        .filter((h) => deps.hosts.get(h.hostId) !== undefined)
        .filter((h) => req.query.host === undefined || h.hostId === req.query.host)
        .map((h) => usageView(deps, h, req.query.service))
        .filter((h) => h.services.length > 0)
        .sort((a, b) => naturalOrder(a.hostId, b.hostId));
      return { hosts };
    },
  );

  app.get<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId/usage',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "what each of a host's services costs (its agent's latest sample)",
        params: { type: 'object', required: ['hostId'], additionalProperties: false, properties: { hostId: hostIdSchema } },
      },
    },
    async (req) => {
      const a = deps.hosts.get(req.params.hostId);
      if (!a) throw new NotFoundError(`unknown host ${req.params.hostId}`, { context: { hosts: [req.params.hostId] } });
      const h = await deps.usage?.get(a.hostId);
      return h ? usageView(deps, h, undefined) : { hostId: a.hostId, connected: a.connected, receivedAt: null, services: [] };
    },
  );
}
