import { RefusedError } from '@smgr/shared';
import { assignBatches, resolveCount } from './rollout-sizes.js';
import type { CountOrPercent, RolloutHost, RolloutSnapshot, RolloutSpec } from './rollout-types.js';

/** A rollout as asked for through the API (durations in seconds, as an operator writes them). */
export interface RolloutRequest {
  service: string;
  version: string;
  hosts?: string[];
  labels?: Record<string, string>;
  /** Hosts updated at once after the canaries: a count or "25%" of the selected hosts. Default 1. */
  batchSize?: CountOrPercent;
  /** Hosts updated first, alone. Default 0. */
  canary?: number;
  /** Continue after healthy canaries without waiting for promote. Default false. */
  autoPromote?: boolean;
  pauseBetweenBatchesSeconds?: number;
  /** Default 10. */
  minHealthySeconds?: number;
  /** Default 300. */
  healthyDeadlineSeconds?: number;
  /** Default 1. */
  probeIntervalSeconds?: number;
  /** Failed hosts tolerated: a count or a percentage. Default 0. */
  maxFailures?: CountOrPercent;
  autoRollback?: boolean;
  /** Default: the controller's monitor.job_timeout. */
  jobTimeoutSeconds?: number;
}

export const ROLLOUT_DEFAULTS = {
  batchSize: 1,
  canary: 0,
  autoPromote: false,
  pauseBetweenBatchesSeconds: 0,
  minHealthySeconds: 10,
  healthyDeadlineSeconds: 300,
  probeIntervalSeconds: 1,
  maxFailures: 0,
  autoRollback: false,
} as const;

/** Versions reach hooks as SMGR_VERSION: keep them to a plain token. */
export const VERSION_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+:~-]{0,127}$';

function invalid(field: string, rule: string): never {
  throw new RefusedError('INVALID_ROLLOUT', `${field}: ${rule}`, { context: { field } });
}

/**
 * Turns a request and its resolved hosts into the first snapshot of a rollout
 * (id 0 until stored). Shape was checked by the API schema; this checks what
 * depends on the selection (canary < hosts) and on several fields at once.
 * @throws RefusedError `INVALID_ROLLOUT` naming the field
 */
export function buildRollout(req: RolloutRequest, hosts: string[], ctx: { createdBy: string; now: number; defaultJobTimeoutMs: number }): RolloutSnapshot {
  if (!new RegExp(VERSION_PATTERN).test(req.version)) invalid('version', `must match ${VERSION_PATTERN}`);
  const batchSize = req.batchSize ?? ROLLOUT_DEFAULTS.batchSize;
  const maxFailures = req.maxFailures ?? ROLLOUT_DEFAULTS.maxFailures;
  const canary = req.canary ?? ROLLOUT_DEFAULTS.canary;
  const batchCount = resolveCount(batchSize, hosts.length, 'up');
  if (batchCount < 1) invalid('batchSize', 'must select at least one host per batch');
  if (canary >= hosts.length && canary > 0) {
    invalid('canary', `must be less than the number of selected hosts (${hosts.length})`);
  }
  const minHealthySeconds = req.minHealthySeconds ?? ROLLOUT_DEFAULTS.minHealthySeconds;
  const healthyDeadlineSeconds = req.healthyDeadlineSeconds ?? ROLLOUT_DEFAULTS.healthyDeadlineSeconds;
  if (healthyDeadlineSeconds <= minHealthySeconds) {
    invalid('healthyDeadlineSeconds', `must be greater than minHealthySeconds (${minHealthySeconds})`);
  }
  const spec: RolloutSpec = {
    service: req.service,
    version: req.version,
    selector: {
      ...(req.hosts !== undefined ? { hosts: [...req.hosts] } : {}),
      ...(req.labels !== undefined ? { labels: { ...req.labels } } : {}),
    },
    batchSize,
    batchCount,
    canary,
    autoPromote: req.autoPromote ?? ROLLOUT_DEFAULTS.autoPromote,
    pauseBetweenBatchesMs: Math.round((req.pauseBetweenBatchesSeconds ?? ROLLOUT_DEFAULTS.pauseBetweenBatchesSeconds) * 1000),
    minHealthyMs: Math.round(minHealthySeconds * 1000),
    healthyDeadlineMs: Math.round(healthyDeadlineSeconds * 1000),
    probeIntervalMs: Math.round((req.probeIntervalSeconds ?? ROLLOUT_DEFAULTS.probeIntervalSeconds) * 1000),
    maxFailures,
    maxFailuresCount: resolveCount(maxFailures, hosts.length, 'down'),
    autoRollback: req.autoRollback ?? ROLLOUT_DEFAULTS.autoRollback,
    jobTimeoutMs: req.jobTimeoutSeconds !== undefined ? Math.round(req.jobTimeoutSeconds * 1000) : ctx.defaultJobTimeoutMs,
  };
  const batches = assignBatches(hosts.length, canary, batchCount);
  return {
    rollout: {
      id: 0,
      service: req.service,
      version: req.version,
      state: 'running',
      pausedFrom: null,
      spec,
      currentBatch: 0,
      waitUntil: null,
      createdBy: ctx.createdBy,
      createdAt: ctx.now,
      updatedAt: ctx.now,
      finishedAt: null,
      message: canary > 0 ? `updating ${canary} canary host(s)` : 'updating batch 0',
    },
    hosts: hosts.map((hostId, i) => pendingHost(hostId, i, batches[i]!)),
  };
}

/** A host of a new rollout: at `position` in the order, in `batch`, nothing done yet. */
export function pendingHost(hostId: string, position: number, batch: number): RolloutHost {
  return {
    hostId,
    position,
    batch,
    state: 'pending',
    previousVersion: null,
    currentVersion: null,
    updateSent: false,
    startedAt: null,
    updatedAt: null,
    healthySince: null,
    deadlineAt: null,
    finishedAt: null,
    probes: 0,
    rollbackAttempts: 0,
    message: '',
  };
}
