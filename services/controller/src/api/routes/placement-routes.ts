import type { FastifyInstance } from 'fastify';
import type { PlacementView, PlaceResultView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { targetFrom } from './audit-target.js';
import { ApiError } from '../http-errors.js';
import { PlacementStore, type ProcessRef } from '../../repair/placement-store.js';
import { hostIdSchema } from './schemas.js';

interface PlaceBody {
  processId?: number;
  name?: string;
  hostId: string;
  service?: string;
}

interface UnplaceQuery {
  processId?: number;
  name?: string;
  host?: string;
}

const processRefProperties = {
  processId: { type: 'integer', minimum: 0, maximum: 2_147_483_647, description: 'PROCESE.process_id' },
  name: { type: 'string', minLength: 1, maxLength: 100, description: 'PROCESE.process_name' },
} as const;

/** Exactly one of processId / name. */
function processRef(x: { processId?: number; name?: string }, part: string): ProcessRef {
  if ((x.processId === undefined) === (x.name === undefined)) {
    throw new ApiError(400, 'INVALID_REQUEST', `${part}: give exactly one of processId or name`, { context: { field: 'processId' } });
  }
  return x.processId !== undefined ? { processId: x.processId } : { name: x.name! };
}

/**
 * Explicit placement of PROCESE rows (smgr_placement) without SQL:
 * GET /v1/placements (viewer), POST /v1/placements and DELETE
 * /v1/placements (operator, audited).
 */
export function registerPlacementRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const store = new PlacementStore(deps.pool);

  app.get(
    '/v1/placements',
    { config: { role: 'viewer' }, schema: { summary: 'explicit placements: which host repairs a PROCESE row, as which service' } },
    async (): Promise<{ placements: PlacementView[] }> => ({ placements: await store.list() }),
  );

  app.post<{ Body: PlaceBody }>(
    '/v1/placements',
    {
      config: {
        role: 'operator',
        action: 'placement.add',
        target: targetFrom<PlaceBody>('body', (b) => `process:${b.processId ?? b.name ?? '?'} host:${b.hostId ?? '?'}`),
      },
      schema: {
        summary: 'place a process on a host: its alarms are repaired there (as `service`, default the process name)',
        description:
          'Placement rows come first (before name@host and the agents that manage the name). Placing one process on a second host makes it ambiguous: keep one row per process. ' +
          '201 for a new row, 200 when the row existed (its service is replaced). `warning` says when no connected agent manages the service on that host.',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['hostId'],
          properties: {
            ...processRefProperties,
            hostId: hostIdSchema,
            service: { type: 'string', minLength: 1, maxLength: 100, description: "the agent's [process.NAME]; default the process name" },
          },
        },
      },
    },
    async (req, reply): Promise<PlaceResultView> => {
      const ref = processRef(req.body, 'body');
      const { placement, created } = await store.place(ref, req.body.hostId, req.body.service ?? null);
      const service = placement.service ?? placement.processName;
      const agent = deps.hosts.all().find((a) => a.hostId === placement.hostId);
      const warning =
        agent === undefined
          ? `no agent ${placement.hostId} has connected yet; the process stays unrepaired until one does`
          : agent.services.some((x) => x.name === service)
            ? undefined
            : `${placement.hostId} does not manage ${service} (its services: ${agent.services.map((x) => x.name).join(', ') || 'none'}); repairs will be refused there`;
      req.auditNote = { ...req.auditNote, target: `process:${placement.processId} host:${placement.hostId}`, detail: { service: placement.service, created } };
      void reply.code(created ? 201 : 200);
      return { placement, created, ...(warning ? { warning } : {}) };
    },
  );

  app.delete<{ Querystring: UnplaceQuery }>(
    '/v1/placements',
    {
      config: {
        role: 'operator',
        action: 'placement.remove',
        target: targetFrom<UnplaceQuery>('query', (q) => `process:${q.processId ?? q.name ?? '?'}${q.host ? ` host:${q.host}` : ''}`),
      },
      schema: {
        summary: "remove a process's placements (on one host with `host`, else all of them)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...processRefProperties, host: hostIdSchema },
        },
      },
    },
    async (req): Promise<{ removed: PlacementView[] }> => {
      const removed = await store.unplace(processRef(req.query, 'querystring'), req.query.host);
      req.auditNote = { ...req.auditNote, detail: { removed: removed.map((p) => `${p.processId}@${p.hostId}`) } };
      return { removed };
    },
  );
}
