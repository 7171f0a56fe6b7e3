import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '@smgr/shared';
import type { AgentInfo } from '../../agents/agent-info.js';
import type { ApiDeps } from '../api-types.js';
import { hostIdSchema, serviceNameSchema } from './schemas.js';

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** A host as the API shows it. */
function hostView(a: AgentInfo) {
  return {
    hostId: a.hostId,
    connected: a.connected,
    lastSeen: a.lastSeen === null ? null : new Date(a.lastSeen).toISOString(),
    agentVersion: a.agentVersion,
    labels: a.labels,
    services: a.services.map((s) => s.name),
  };
}

/** Parses repeated `label=k=v` query values. */
function labelFilter(raw: string[] | undefined): [string, string][] {
  return (raw ?? []).map((kv) => {
    const i = kv.indexOf('=');
    return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/** GET /v1/hosts, /v1/hosts/:hostId, /v1/hosts/:hostId/services, /v1/services (viewer). */
export function registerHostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { service?: string; label?: string[]; connected?: boolean } }>(
    '/v1/hosts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'hosts (agents) known to the controller',
        tags: ['hosts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            service: { ...serviceNameSchema, description: 'only hosts managing this service' },
            label: { type: 'array', items: { type: 'string', pattern: '^[^=]+=.*$' }, description: 'k=v; repeatable (AND)' },
            connected: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const labels = labelFilter(req.query.label);
      const managing = req.query.service === undefined ? null : new Set(deps.hosts.hostsManaging(req.query.service));
      const hosts = deps.hosts
        .all()
        .filter((a) => managing === null || managing.has(a.hostId))
        .filter((a) => req.query.connected === undefined || a.connected === req.query.connected)
        .filter((a) => labels.every(([k, v]) => a.labels[k] === v))
        .sort((a, b) => naturalOrder(a.hostId, b.hostId));
      return { hosts: hosts.map(hostView) };
    },
  );

  const hostParams = { type: 'object', required: ['hostId'], additionalProperties: false, properties: { hostId: hostIdSchema } } as const;
  const getHost = (hostId: string): AgentInfo => {
    const a = deps.hosts.get(hostId);
    if (!a) throw new NotFoundError(`unknown host ${hostId}`, { context: { hosts: [hostId] } });
    return a;
  };

  app.get<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId',
    { config: { role: 'viewer' }, schema: { summary: 'one host', tags: ['hosts'], params: hostParams } },
    async (req) => hostView(getHost(req.params.hostId)),
  );

  app.get<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId/services',
    { config: { role: 'viewer' }, schema: { summary: "the services in a host's agent config", tags: ['hosts'], params: hostParams } },
    async (req) => {
      const a = getHost(req.params.hostId);
      return { hostId: a.hostId, connected: a.connected, services: a.services };
    },
  );

  app.get(
    '/v1/services',
    { config: { role: 'viewer' }, schema: { summary: 'every service some agent manages, with its hosts', tags: ['hosts'] } },
    async () => {
      const byService = new Map<string, { hosts: string[]; connected: number }>();
      for (const a of deps.hosts.all()) {
        for (const s of a.services) {
          let entry = byService.get(s.name);
          if (!entry) byService.set(s.name, (entry = { hosts: [], connected: 0 }));
          entry.hosts.push(a.hostId);
          if (a.connected) entry.connected += 1;
        }
      }
      return {
        services: [...byService.entries()]
          .sort(([a], [b]) => naturalOrder(a, b))
          .map(([service, e]) => ({ service, hosts: e.hosts.sort(naturalOrder), connected: e.connected })),
      };
    },
  );
}
