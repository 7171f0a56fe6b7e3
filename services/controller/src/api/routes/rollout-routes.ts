import type { FastifyInstance } from 'fastify';
import { NotFoundError, type RolloutSummaryView, type RolloutView } from '@smgr/shared';
import type { ApiDeps } from '../api-types.js';
import { paramTarget, targetFrom } from './audit-target.js';
import {
  ROLLOUT_COMMANDS,
  ROLLOUT_STATES,
  type RolloutCommand,
  type RolloutJobKind,
  type RolloutSnapshot,
  type RolloutState,
} from '../../rollouts/rollout-types.js';
import type { StepFailure } from '../../history/result-detail.js';
import { ROLLOUT_DEFAULTS, VERSION_PATTERN, type RolloutRequest } from '../../rollouts/rollout-request.js';
import { countOrPercent, idParams, selectorProperties, serviceNameSchema } from './schemas.js';

function iso(ms: number): string;
function iso(ms: number | null): string | null;
function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * A rollout as the API shows it: times as ISO strings, durations back in
 * seconds; `failures` (by host) add the failing step of failed hosts.
 */
export function rolloutView(s: RolloutSnapshot, failures: ReadonlyMap<string, StepFailure & { job: RolloutJobKind }> = new Map()): RolloutView {
  const r = s.rollout;
  const counts: RolloutView['hostCounts'] = {};
  for (const h of s.hosts) counts[h.state] = (counts[h.state] ?? 0) + 1;
  return {
    id: r.id,
    service: r.service,
    version: r.version,
    state: r.state,
    pausedFrom: r.pausedFrom,
    message: r.message,
    currentBatch: r.currentBatch,
    batches: s.hosts.reduce((m, h) => Math.max(m, h.batch + 1), 0),
    waitUntil: iso(r.waitUntil),
    createdBy: r.createdBy,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
    finishedAt: iso(r.finishedAt),
    spec: {
      selector: r.spec.selector,
      batchSize: r.spec.batchSize,
      batchCount: r.spec.batchCount,
      canary: r.spec.canary,
      autoPromote: r.spec.autoPromote,
      pauseBetweenBatchesSeconds: r.spec.pauseBetweenBatchesMs / 1000,
      minHealthySeconds: r.spec.minHealthyMs / 1000,
      healthyDeadlineSeconds: r.spec.healthyDeadlineMs / 1000,
      probeIntervalSeconds: r.spec.probeIntervalMs / 1000,
      maxFailures: r.spec.maxFailures,
      maxFailuresCount: r.spec.maxFailuresCount,
      autoRollback: r.spec.autoRollback,
      jobTimeoutSeconds: r.spec.jobTimeoutMs / 1000,
    },
    hostCounts: counts,
    hosts: s.hosts.map((h) => ({
      hostId: h.hostId,
      position: h.position,
      batch: h.batch,
      state: h.state,
      previousVersion: h.previousVersion,
      currentVersion: h.currentVersion,
      updateSent: h.updateSent,
      startedAt: iso(h.startedAt),
      updatedAt: iso(h.updatedAt),
      healthySince: iso(h.healthySince),
      deadlineAt: iso(h.deadlineAt),
      finishedAt: iso(h.finishedAt),
      probes: h.probes,
      message: h.message,
      failure: failures.get(h.hostId) ?? null,
    })),
  };
}

const rolloutBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['service', 'version'],
  properties: {
    service: serviceNameSchema,
    version: { type: 'string', pattern: VERSION_PATTERN },
    ...selectorProperties,
    batchSize: countOrPercent(1, `hosts updated at once after the canaries: a count or "25%" (default ${ROLLOUT_DEFAULTS.batchSize})`),
    canary: { type: 'integer', minimum: 0, maximum: 10_000, description: 'hosts updated first, alone (default 0)' },
    autoPromote: { type: 'boolean', description: 'continue after healthy canaries without promote (default false)' },
    pauseBetweenBatchesSeconds: { type: 'number', minimum: 0, maximum: 86_400 },
    minHealthySeconds: { type: 'number', minimum: 0, maximum: 86_400, description: `default ${ROLLOUT_DEFAULTS.minHealthySeconds}` },
    healthyDeadlineSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 86_400, description: `default ${ROLLOUT_DEFAULTS.healthyDeadlineSeconds}` },
    probeIntervalSeconds: { type: 'number', minimum: 0.05, maximum: 3_600, description: `default ${ROLLOUT_DEFAULTS.probeIntervalSeconds}` },
    maxFailures: countOrPercent(0, 'failed hosts tolerated before the rollout halts: a count or "10%" (default 0)'),
    autoRollback: { type: 'boolean', description: 'on halt, return updated hosts to their previous version (default false)' },
    jobTimeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
  },
} as const;

/**
 * /v1/rollouts: start (operator), list and show (viewer), and
 * pause / resume / promote / abort / rollback (operator).
 */
export function registerRolloutRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: RolloutRequest }>(
    '/v1/rollouts',
    {
      config: {
        role: 'operator',
        action: 'rollout.start',
        target: targetFrom<RolloutRequest>('body', (b) => `service:${b.service ?? '?'} version:${b.version ?? '?'}`),
      },
      schema: {
        summary: 'start a rolling update of a service to a version on selected hosts',
        description:
          'One active rollout per service (409). Every selected host must be connected. Host order: the order of `hosts`, else host ids in natural order.',
        body: rolloutBodySchema,
      },
    },
    async (req, reply) => {
      const created = await deps.rollouts.create(req.body, req.principal?.name ?? '?');
      req.auditNote = {
        ...req.auditNote,
        target: `rollout:${created.rollout.id} service:${created.rollout.service} version:${created.rollout.version}`,
        detail: { hosts: created.hosts.map((h) => h.hostId) },
      };
      void reply.code(201);
      return rolloutView(created);
    },
  );

  app.get<{ Querystring: { service?: string; state?: RolloutState; active?: boolean; limit: number } }>(
    '/v1/rollouts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'rollouts, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            service: serviceNameSchema,
            state: { type: 'string', enum: [...ROLLOUT_STATES] },
            active: { type: 'boolean' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
        },
      },
    },
    async (req): Promise<{ rollouts: RolloutSummaryView[] }> => {
      const q = req.query;
      const list = await deps.rollouts.list({
        limit: q.limit,
        ...(q.service !== undefined ? { service: q.service } : {}),
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.active !== undefined ? { active: q.active } : {}),
      });
      return {
        rollouts: list.map((r) => ({
          id: r.id,
          service: r.service,
          version: r.version,
          state: r.state,
          message: r.message,
          createdBy: r.createdBy,
          createdAt: iso(r.createdAt),
          finishedAt: iso(r.finishedAt),
          hostTotal: r.hostTotal,
          hostCounts: r.hostCounts,
        })),
      };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/rollouts/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'one rollout with the progress of each host; a failed host has `failure`: the job (update, probe, rollback), the step that failed, its exit code and output tail',
        params: idParams,
      },
    },
    async (req) => {
      const s = await deps.rollouts.get(req.params.id);
      if (!s) throw new NotFoundError(`no rollout ${req.params.id}`, { context: { rolloutId: req.params.id } });
      return rolloutView(s, await deps.rollouts.store.failures(s.rollout.id));
    },
  );

  for (const command of ROLLOUT_COMMANDS) {
    app.post<{ Params: { id: number } }>(
      `/v1/rollouts/:id/${command}`,
      {
        config: {
          role: 'operator',
          action: `rollout.${command}`,
          target: paramTarget('rollout', 'id'),
        },
        schema: { summary: COMMAND_SUMMARY[command], params: idParams },
      },
      async (req) => {
        const s = await deps.rollouts.command(req.params.id, command, req.principal?.name ?? '?');
        return rolloutView(s, await deps.rollouts.store.failures(s.rollout.id));
      },
    );
  }
}

const COMMAND_SUMMARY: Record<RolloutCommand, string> = {
  pause: 'pause: start no new host (hosts in flight finish their step)',
  resume: 'resume a paused rollout',
  promote: 'continue after the canaries',
  abort: 'abort: skip hosts not started; no rollback',
  rollback: 'return every updated host to its previous version (no canary phase)',
};
