import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, type ClaimChangeView, type HostForgetView, type HostView } from '@smgr/shared';
import type { AgentInfo } from '../../agents/agent-info.js';
import type { Claim } from '../../agents/agent-registry.js';
import type { ApiDeps } from '../api-types.js';
import { paramTarget } from './audit-target.js';
import { hostIdSchema, serviceNameSchema } from './schemas.js';

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** A host as the API shows it, with the decision on every service it declares or claimed ('undecided' until decided). */
function hostView(a: AgentInfo, claims: ReadonlyMap<string, Claim>): HostView {
  const declared = new Set(a.services.map((s) => s.name));
  const names = [...new Set([...declared, ...claims.keys()])].sort(naturalOrder);
  return {
    hostId: a.hostId,
    connected: a.connected,
    lastSeen: a.lastSeen === null ? null : new Date(a.lastSeen).toISOString(),
    agentVersion: a.agentVersion,
    certNotAfter: a.certNotAfter ? new Date(a.certNotAfter).toISOString() : null,
    labels: a.labels,
    services: a.services.map((s) => s.name),
    claims: names.map((service) => {
      const c = claims.get(service);
      return {
        service,
        state: c?.state ?? 'undecided',
        declared: declared.has(service),
        reason: c?.reason ?? '',
        decidedBy: c?.decidedBy ?? null,
        updatedAt: c ? new Date(c.updatedAt).toISOString() : null,
      };
    }),
  };
}

const claimBody = {
  type: 'object',
  additionalProperties: false,
  properties: { service: { ...serviceNameSchema, description: 'only this claim (default: every pending one to approve, every one to reject)' } },
} as const;

const claimTarget = (req: FastifyRequest) => {
  const host = (req.params as { hostId?: string }).hostId ?? '?';
  const service = (req.body as { service?: string } | undefined)?.service;
  return `host:${host}${service === undefined ? '' : `/${service}`}`;
};

/** Parses repeated `label=k=v` query values. */
function labelFilter(raw: string[] | undefined): [string, string][] {
  return (raw ?? []).map((kv) => {
    const i = kv.indexOf('=');
    return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
  });
}

/**
 * GET /v1/hosts, /v1/hosts/:hostId, /v1/hosts/:hostId/services, /v1/services (viewer);
 * POST /v1/hosts/:hostId/approve|reject and DELETE /v1/hosts/:hostId (operator, audited).
 */
export function registerHostRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: { service?: string; label?: string[]; connected?: boolean } }>(
    '/v1/hosts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'hosts (agents) known to the controller',
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
    async (req): Promise<{ hosts: HostView[] }> => {
      const labels = labelFilter(req.query.label);
      const managing = req.query.service === undefined ? null : new Set(deps.hosts.hostsManaging(req.query.service));
      const hosts = deps.hosts
        .all()
        .filter((a) => managing === null || managing.has(a.hostId))
        .filter((a) => req.query.connected === undefined || a.connected === req.query.connected)
        .filter((a) => labels.every(([k, v]) => a.labels[k] === v))
        .sort((a, b) => naturalOrder(a.hostId, b.hostId));
      return { hosts: hosts.map((a) => hostView(a, deps.hosts.claimsOf(a.hostId))) };
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
    { config: { role: 'viewer' }, schema: { summary: 'one host', params: hostParams } },
    async (req) => hostView(getHost(req.params.hostId), deps.hosts.claimsOf(req.params.hostId)),
  );

  for (const action of ['approve', 'reject'] as const) {
    app.post<{ Params: { hostId: string }; Body: { service?: string } | undefined }>(
      `/v1/hosts/:hostId/${action}`,
      {
        config: { role: 'operator', action: `host.${action}`, target: claimTarget },
        schema: {
          summary:
            action === 'approve'
              ? "approve a host's service claims: the host then takes part in placement by plain process name for them (docs/security.md, Host claims)"
              : "reject a host's service claims: they place nothing, get no repair jobs and raise no alarms",
          params: hostParams,
          body: claimBody,
        },
      },
      async (req): Promise<ClaimChangeView> => {
        const by = req.principal?.name ?? '?';
        const service = req.body?.service;
        const change =
          action === 'approve' ? await deps.claims.approve(req.params.hostId, service, by) : await deps.claims.reject(req.params.hostId, service, by);
        // An approval can put a plain-named row on several hosts: say so in the answer and the audit row.
        const nowAmbiguous = change.state === 'approved' ? change.services.filter((s) => deps.hosts.hostsManaging(s).length > 1) : [];
        req.auditNote = { ...req.auditNote, detail: { services: change.services, state: change.state, nowAmbiguous } };
        return { ...change, nowAmbiguous };
      },
    );
  }

  app.delete<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId',
    {
      config: { role: 'operator', action: 'host.forget', target: paramTarget('host', 'hostId') },
      schema: {
        summary: 'forget a decommissioned host: its claims and its agent record are deleted (refused while its agent is connected)',
        params: hostParams,
      },
    },
    async (req): Promise<HostForgetView> => {
      const forgotten = await deps.claims.forget(req.params.hostId, req.principal?.name ?? '?');
      req.auditNote = { ...req.auditNote, detail: { claims: forgotten.claims } };
      return forgotten;
    },
  );

  app.get<{ Params: { hostId: string } }>(
    '/v1/hosts/:hostId/services',
    { config: { role: 'viewer' }, schema: { summary: "the services in a host's agent config", params: hostParams } },
    async (req) => {
      const a = getHost(req.params.hostId);
      return { hostId: a.hostId, connected: a.connected, services: a.services };
    },
  );

  app.get(
    '/v1/services',
    {
      config: { role: 'viewer' },
      schema: { summary: 'every service some agent declares, with the hosts whose claim on it is approved and those whose claim is not' },
    },
    async () => {
      const byService = new Map<string, { hosts: string[]; unapproved: string[]; connected: number }>();
      for (const a of deps.hosts.all()) {
        const claims = deps.hosts.claimsOf(a.hostId);
        for (const s of a.services) {
          let entry = byService.get(s.name);
          if (!entry) byService.set(s.name, (entry = { hosts: [], unapproved: [], connected: 0 }));
          if (claims.get(s.name)?.state !== 'approved') {
            entry.unapproved.push(a.hostId);
            continue;
          }
          entry.hosts.push(a.hostId);
          if (a.connected) entry.connected += 1;
        }
      }
      return {
        services: [...byService.entries()]
          .sort(([a], [b]) => naturalOrder(a, b))
          .map(([service, e]) => ({ service, hosts: e.hosts.sort(naturalOrder), connected: e.connected, unapproved: e.unapproved.sort(naturalOrder) })),
      };
    },
  );
}
