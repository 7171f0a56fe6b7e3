import type { FastifyInstance } from 'fastify';
import type { EventView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { hostIdSchema, limitQuery, serviceNameSchema } from './schemas.js';
import { roleAllows } from '../auth/roles.js';
import { eventView, listEvents } from '../../history/event-store.js';
import { redactForViewer } from './redact.js';

interface EventQuery {
  limit: number;
  kind?: string;
  service?: string;
  host?: string;
  processId?: number;
  since?: string;
  beforeId?: number;
}

/** GET /v1/events (viewer; argv and output tails for operator and admin only): the smgr_events history, newest first. */
export function registerEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: EventQuery }>(
    '/v1/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'history of repairs, operations and rollouts (smgr_events), newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: limitQuery,
            kind: { type: 'string', maxLength: 32, description: 'repair, operation, rollout, ...' },
            service: serviceNameSchema,
            host: hostIdSchema,
            processId: { type: 'integer', minimum: 0 },
            since: { type: 'string', format: 'date-time' },
            beforeId: { type: 'integer', minimum: 1, description: 'page: events older than this id' },
          },
        },
      },
    },
    async (req): Promise<{ events: EventView[] }> => {
      const q = req.query;
      const full = req.principal !== null && roleAllows(req.principal.role, 'operator');
      const rows = await listEvents(deps.pool, q);
      return {
        events: rows.map((r) => {
          const v = eventView(r);
          return full ? v : { ...v, detail: redactForViewer(v.detail) };
        }),
      };
    },
  );
}
