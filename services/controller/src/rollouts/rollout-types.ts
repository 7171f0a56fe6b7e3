import type { CountOrPercent, PausableState, RolloutHostState, RolloutJobKind, RolloutState } from '@smgr/shared';
import type { StepFailure } from '../history/result-detail.js';

// The state names, job kinds and CountOrPercent are the API's too (@smgr/shared, shared with the CLI).
export type { CountOrPercent, PausableState, RolloutJobKind, RolloutState };

/**
 * A rolling update of one service to one version across a chosen set of hosts.
 *
 * Rollout states (`RolloutState`):
 * ```
 *            ┌────────── pause ──────────┐          ┌── resume ──┐
 *            ▼                           │          ▼            │
 *  running ──canary done, no auto-promote──► awaiting_promotion ─promote─► running
 *     │  └──every batch final, failures within max_failures──► succeeded
 *     │
 *     ├──failures > max_failures, or a canary failed──► halted                (auto_rollback = false)
 *     │                                             └──► rolling_back          (auto_rollback = true)
 *     └──pause──► paused ──resume──► (the state it was paused from)
 *
 *  rolling_back ──every updated host back on its previous version──► rolled_back
 *               └──some host could not be rolled back───────────────► rollback_failed
 *
 *  abort:    running | awaiting_promotion | paused | halted | rolling_back ──► aborted
 *  rollback: running | awaiting_promotion | paused | halted | succeeded | aborted | rollback_failed ──► rolling_back
 * ```
 * Active states (running, awaiting_promotion, paused, halted, rolling_back)
 * hold the service's one active-rollout slot; the others are final, though
 * `rollback` may take a final rollout back into rolling_back.
 *
 * Host states (`HostState`):
 * ```
 *  pending ──its batch starts──► checking ──STATUS (records previous version)──► updating ──UPDATE ok──► verifying
 *                                   │  already on the target version ──────────────────────────────────►─┘   │
 *                                   │                                     UPDATE failed ──► failed ◄──────────┤ not healthy for
 *                                   │                                                                         │ min_healthy_time by
 *  verifying ──STATUS ok (and on the target version) continuously for min_healthy_time──► healthy            │ healthy_deadline
 *
 *  rollback of the rollout:  pending ──► skipped;  checking ──its STATUS returns──► skipped
 *     updating ──its UPDATE returns──► rollback_pending;  verifying | healthy | failed (update sent) ──► rollback_pending
 *     rollback_pending ──a rollback slot frees (batch_size at a time)──► rolling_back ──UPDATE(previous) ok──► rolled_back
 *                                                                                      └──failed──────────► rollback_failed
 *  abort of the rollout:  pending ──► skipped;  checking | updating | verifying | rolling_back | rollback_pending ──► aborted
 * ```
 * Results arriving for a host that has moved on (e.g. aborted) only update its
 * recorded version and message.
 */
export type HostState = RolloutHostState;

export const ROLLOUT_STATES: readonly RolloutState[] = [
  'running',
  'awaiting_promotion',
  'paused',
  'halted',
  'rolling_back',
  'succeeded',
  'aborted',
  'rolled_back',
  'rollback_failed',
];

/** States that hold the service's single active-rollout slot. */
export const ACTIVE_STATES: ReadonlySet<RolloutState> = new Set(['running', 'awaiting_promotion', 'paused', 'halted', 'rolling_back']);

/** Host states with an agent job outstanding (or about to be sent). */
export const IN_FLIGHT_HOST_STATES: ReadonlySet<HostState> = new Set(['checking', 'updating', 'rolling_back']);

/** What was asked for, normalised: every duration in ms, counts resolved against the host list. */
export interface RolloutSpec {
  service: string;
  version: string;
  /** The selector as given, for display. */
  selector: { hosts?: string[]; labels?: Record<string, string> };
  batchSize: CountOrPercent;
  /** Hosts updated at once outside the canary phase (batchSize resolved, >= 1). */
  batchCount: number;
  /** The first `canary` hosts are updated alone, before everyone else. */
  canary: number;
  /** Continue after healthy canaries without waiting for `promote`. */
  autoPromote: boolean;
  pauseBetweenBatchesMs: number;
  /** A host must pass STATUS continuously this long after its update... */
  minHealthyMs: number;
  /** ...before this long has passed since the update finished. */
  healthyDeadlineMs: number;
  /** Time between STATUS probes during the health gate. */
  probeIntervalMs: number;
  maxFailures: CountOrPercent;
  /** Failed hosts tolerated; one more halts the rollout (maxFailures resolved). */
  maxFailuresCount: number;
  /** On halt, put every updated host back on its previous version. */
  autoRollback: boolean;
  /** Longest wait for one STATUS / UPDATE result from an agent. */
  jobTimeoutMs: number;
}

export interface Rollout {
  id: number;
  service: string;
  version: string;
  state: RolloutState;
  /** Set while paused: where resume goes back to. */
  pausedFrom: PausableState | null;
  spec: RolloutSpec;
  /** Index of the batch being updated (batch 0 is the canary batch when canary > 0). */
  currentBatch: number;
  /** The next batch starts no earlier than this (pause between batches). */
  waitUntil: number | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  /** Why it is in its state, in one line. */
  message: string;
}

export interface RolloutHost {
  hostId: string;
  /** Order of update, 0-based. */
  position: number;
  batch: number;
  state: HostState;
  /** What version_command reported before the update (null: nothing reported). */
  previousVersion: string | null;
  /** What the agent last reported. */
  currentVersion: string | null;
  /** An UPDATE to the target version was sent (so a rollback must undo it). */
  updateSent: boolean;
  startedAt: number | null;
  updatedAt: number | null;
  /** Start of the current run of passing health probes. */
  healthySince: number | null;
  /** The health gate fails if the host is not healthy by then. */
  deadlineAt: number | null;
  finishedAt: number | null;
  probes: number;
  rollbackAttempts: number;
  message: string;
}

/** A rollout with its hosts in update order. */
export interface RolloutSnapshot {
  rollout: Rollout;
  hosts: RolloutHost[];
}

/** What an agent said, reduced to what the state machine needs. */
export interface HostJobOutcome {
  ok: boolean;
  /** Version the agent reported ('' when none). */
  version: string;
  message: string;
  /** The step that failed, with its exit code and output tail (failed jobs that ran one). */
  failure?: StepFailure | null;
}

export type RolloutCommand = 'pause' | 'resume' | 'promote' | 'abort' | 'rollback';
export const ROLLOUT_COMMANDS: readonly RolloutCommand[] = ['pause', 'resume', 'promote', 'abort', 'rollback'];
