import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../api-types.js';
import { ApiError } from '../http-errors.js';
import { OPERATION_NAMES, runOperation, type OperationName } from '../operation-runner.js';
import { VERSION_PATTERN } from '../../rollouts/rollout-request.js';
import { selectorProperties, serviceNameSchema } from './schemas.js';

interface OperationBody {
  operation: OperationName;
  service: string;
  hosts?: string[];
  labels?: Record<string, string>;
  version?: string;
  timeoutSeconds?: number;
}

/** POST /v1/operations (operator): restart / start / stop / status / update a service on selected hosts. */
export function registerOperationRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const maxSeconds = Math.max(1, Math.floor(deps.operationTimeoutMs / 1000));
  app.post<{ Body: OperationBody }>(
    '/v1/operations',
    {
      config: {
        role: 'operator',
        action: 'operation.run',
        target: (req) => {
          const b = req.body as Partial<OperationBody> | undefined;
          return `service:${b?.service ?? '?'} ${b?.operation ?? '?'}`;
        },
      },
      schema: {
        summary: 'run an operation on a service on every selected host and wait for the results',
        description:
          'Hosts: `hosts` and/or `labels` (AND); neither selects every host managing the service. Hosts not connected are reported `unavailable` and sent nothing. 200 even when hosts failed: see `ok` and `summary`.',
        tags: ['operations'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['operation', 'service'],
          properties: {
            operation: { type: 'string', enum: [...OPERATION_NAMES] },
            service: serviceNameSchema,
            ...selectorProperties,
            version: { type: 'string', pattern: VERSION_PATTERN, description: 'required for update' },
            timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: maxSeconds },
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.operation === 'update' && b.version === undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', 'body.version: is required for update', { context: { field: 'version' } });
      }
      if (b.operation !== 'update' && b.version !== undefined) {
        throw new ApiError(400, 'INVALID_REQUEST', `body.version: only update takes a version, not ${b.operation}`, {
          context: { field: 'version' },
        });
      }
      const report = await runOperation(
        deps,
        {
          operation: b.operation,
          service: b.service,
          selector: { ...(b.hosts ? { hosts: b.hosts } : {}), ...(b.labels ? { labels: b.labels } : {}) },
          ...(b.version !== undefined ? { version: b.version } : {}),
          timeoutMs: b.timeoutSeconds !== undefined ? Math.round(b.timeoutSeconds * 1000) : deps.operationTimeoutMs,
        },
        req.principal?.name ?? '?',
      );
      req.auditNote = {
        ...req.auditNote,
        outcome: report.ok ? 'ok' : report.summary.succeeded > 0 ? 'partial' : 'failed',
        detail: { operationId: report.operationId, summary: report.summary },
      };
      return report;
    },
  );
}
