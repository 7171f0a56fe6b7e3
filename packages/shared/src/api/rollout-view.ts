/** What /v1/rollouts answers (start, list, show, pause/resume/promote/abort/rollback), for the controller that serves it and the CLI that prints and follows it. */
import type { StepFailureView } from './step-failure-view.js';

/** A rollout's state; the state machine is drawn in the controller's rollouts/rollout-types.ts. */
export type RolloutState =
  | 'running'
  | 'awaiting_promotion'
  | 'paused'
  | 'halted'
  | 'rolling_back'
  | 'succeeded'
  | 'aborted'
  | 'rolled_back'
  | 'rollback_failed';

/** A state a paused rollout returns to on resume. */
export type PausableState = 'running' | 'awaiting_promotion' | 'rolling_back';

/** One host's state in a rollout. */
export type RolloutHostState =
  | 'pending'
  | 'checking'
  | 'updating'
  | 'verifying'
  | 'healthy'
  | 'failed'
  | 'skipped'
  | 'aborted'
  | 'rollback_pending'
  | 'rolling_back'
  | 'rolled_back'
  | 'rollback_failed';

/** The jobs the rollout state machine asks for. */
export type RolloutJobKind = 'pre_status' | 'update' | 'probe' | 'rollback';

/** A count, or a percentage of the selected hosts written "25%". */
export type CountOrPercent = number | `${number}%`;

/** What was asked for, durations in seconds, counts also resolved against the host list. */
export interface RolloutSpecView {
  /** The selector as given. */
  selector: { hosts?: string[]; labels?: Record<string, string> };
  batchSize: CountOrPercent;
  /** Hosts updated at once outside the canary phase (batchSize resolved). */
  batchCount: number;
  canary: number;
  autoPromote: boolean;
  pauseBetweenBatchesSeconds: number;
  minHealthySeconds: number;
  healthyDeadlineSeconds: number;
  probeIntervalSeconds: number;
  maxFailures: CountOrPercent;
  /** Failed hosts tolerated (maxFailures resolved). */
  maxFailuresCount: number;
  autoRollback: boolean;
  jobTimeoutSeconds: number;
}

/** One host of a rollout; times ISO. */
export interface RolloutHostView {
  hostId: string;
  position: number;
  batch: number;
  state: RolloutHostState;
  previousVersion: string | null;
  currentVersion: string | null;
  updateSent: boolean;
  startedAt: string | null;
  updatedAt: string | null;
  healthySince: string | null;
  deadlineAt: string | null;
  finishedAt: string | null;
  probes: number;
  message: string;
  /** The failing step of the host's last failed job (update, probe or rollback). */
  failure: (StepFailureView & { job: RolloutJobKind }) | null;
}

/** A rollout as GET /v1/rollouts/:id shows it (and POST answers): times ISO, durations in seconds. */
export interface RolloutView {
  id: number;
  service: string;
  version: string;
  state: RolloutState;
  /** Set while paused: where resume goes back to. */
  pausedFrom: PausableState | null;
  message: string;
  /** Index of the batch being updated, from 0 (batch 0 is the canary batch when canary > 0). */
  currentBatch: number;
  batches: number;
  waitUntil: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  spec: RolloutSpecView;
  hostCounts: Partial<Record<RolloutHostState, number>>;
  hosts: RolloutHostView[];
}

/** One rollout of GET /v1/rollouts. */
export interface RolloutSummaryView {
  id: number;
  service: string;
  version: string;
  state: RolloutState;
  message: string;
  createdBy: string;
  createdAt: string;
  finishedAt: string | null;
  hostTotal: number;
  hostCounts: Partial<Record<RolloutHostState, number>>;
}
