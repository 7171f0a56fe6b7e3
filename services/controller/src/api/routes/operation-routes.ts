import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { targetFrom } from './audit-target.js';
import { ApiError } from '../http-errors.js';
import { HOST_OPERATION_STATES, OPERATION_NAMES, OPERATION_STATES, type OperationName, type OperationView } from '../../operations/operation-types.js';
import { VERSION_PATTERN } from '../../rollouts/rollout-request.js';
import { selectorProperties, serviceNameSchema } from './schemas.js';

interface OperationBody {
  operation: OperationName;
  service: string;
  hosts?: string[];
  labels?: Record<string, string>;
  version?: string;
  action?: string;
  timeoutSeconds?: number;
}

const nullableString = { type: 'string', nullable: true } as const;

/** An operation as GET /v1/operations/:id and the 202 of POST show it. */
const operationViewSchema = {
  type: 'object',
  required: ['id', 'operation', 'service', 'state', 'ok', 'summary', 'createdBy', 'createdAt', 'finishedAt', 'timeoutSeconds', 'hosts'],
  properties: {
    id: { type: 'string', description: 'op-<hex>: GET /v1/operations/{id}' },
    operation: { type: 'string', enum: [...OPERATION_NAMES] },
    service: { type: 'string' },
    version: { type: 'string' },
    action: { type: 'string', description: 'operation action: the action run' },
    state: {
      type: 'string',
      enum: [...OPERATION_STATES],
      description: 'running, then succeeded (every host did), failed, or interrupted (the controller stopped first)',
    },
    ok: { type: 'boolean', description: 'every host succeeded' },
    summary: {
      type: 'object',
      description: 'hosts per state',
      properties: Object.fromEntries(HOST_OPERATION_STATES.map((s) => [s, { type: 'integer' }])),
    },
    createdBy: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    finishedAt: { ...nullableString, format: 'date-time' },
    timeoutSeconds: { type: 'number' },
    hosts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['hostId', 'state', 'message', 'version', 'strategy', 'durationMs', 'jobId', 'failure', 'startedAt', 'finishedAt'],
        properties: {
          hostId: { type: 'string' },
          state: { type: 'string', enum: [...HOST_OPERATION_STATES] },
          message: { type: 'string' },
          version: { type: 'string' },
          strategy: { type: 'string' },
          durationMs: { type: 'integer' },
          jobId: { type: 'string' },
          failure: {
            type: 'object',
            nullable: true,
            description: 'the step that failed: its name, exit code (-1: did not exit by itself) and output tail',
            required: ['step', 'exitCode', 'outputTail'],
            properties: { step: { type: 'string' }, exitCode: { type: 'integer' }, outputTail: { type: 'string' } },
          },
          startedAt: { ...nullableString, format: 'date-time' },
          finishedAt: { ...nullableString, format: 'date-time' },
        },
      },
    },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  additionalProperties: true,
} as const;

/**
 * POST /v1/operations (operator): restart / start / stop / status / update a
 * service on selected hosts; answers 202 with the operation's id at once.
 * GET /v1/operations/:id (viewer): its per-host progress.
 */
export function registerOperationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const maxSeconds = Math.max(1, Math.floor(deps.operationTimeoutMs / 1000));
  app.post<{ Body: OperationBody }>(
    '/v1/operations',
    {
      config: {
        role: 'operator',
        action: 'operation.run',
        target: targetFrom<OperationBody>('body', (b) => `service:${b.service ?? '?'} ${b.operation ?? '?'}${b.action ? ` ${b.action}` : ''}`),
      },
      schema: {
        summary: 'start an operation on a service on every selected host; answers at once with its id',
        description:
          "Operation `action` runs the named command (`action`) that each host's own config defines for the service; a host without it refuses. " +
          'Hosts: `hosts` and/or `labels` (AND); neither selects every host managing the service. Hosts not connected are reported `unavailable` and sent nothing. ' +
          'The answer (202) lists every host `pending`; follow the operation with GET /v1/operations/{id} until `state` is no longer `running`. ' +
          `Each host gets \`timeoutSeconds\` (default and most: api.operation_timeout, ${maxSeconds} s here).`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['operation', 'service'],
          properties: {
            operation: { type: 'string', enum: [...OPERATION_NAMES] },
            service: serviceNameSchema,
            ...selectorProperties,
            version: { type: 'string', pattern: VERSION_PATTERN, description: 'required for update' },
            action: {
              type: 'string',
              pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
              description:
                "required for action: the name of an `action[] = NAME: command` entry of the service in each host's own config (hosts that do not define it refuse)",
            },
            timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: maxSeconds },
          },
        },
        response: { 202: operationViewSchema },
      },
    },
    async (req, reply): Promise<OperationView> => {
      const b = req.body;
      if (b.operation === 'update' && b.version === undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', 'body.version: is required for update', { context: { field: 'version' } });
      }
      if (b.operation === 'action' && b.action === undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', 'body.action: is required for operation action', { context: { field: 'action' } });
      }
      if (b.operation !== 'action' && b.action !== undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', `body.action: only operation action takes an action, not ${b.operation}`, { context: { field: 'action' } });
      }
      if (b.operation !== 'update' && b.version !== undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', `body.version: only update takes a version, not ${b.operation}`, {
          context: { field: 'version' },
        });
      }
      const view = await deps.operations.start(
        {
          operation: b.operation,
          service: b.service,
          selector: { ...(b.hosts ? { hosts: b.hosts } : {}), ...(b.labels ? { labels: b.labels } : {}) },
          ...(b.version !== undefined ? { version: b.version } : {}),
          ...(b.action !== undefined ? { action: b.action } : {}),
          timeoutMs: b.timeoutSeconds !== undefined ? Math.round(b.timeoutSeconds * 1000) : deps.operationTimeoutMs,
        },
        req.principal?.name ?? '?',
      );
      req.auditNote = { ...req.auditNote, detail: { operationId: view.id, hosts: view.hosts.map((h) => h.hostId) } };
      void reply.code(202);
      return view;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/operations/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "an operation and each host's progress: pending, running, then its outcome with the failing step's exit code and output tail",
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', pattern: '^op-[0-9a-f]{1,28}$' } },
        },
        response: { 200: operationViewSchema, 404: errorSchema },
      },
    },
    async (req): Promise<OperationView> => {
      const view = await deps.operations.get(req.params.id);
      if (!view) throw new NotFoundError(`no operation ${req.params.id} (finished operations are kept monitor.event_retention_days)`);
      return view;
    },
  );
}
