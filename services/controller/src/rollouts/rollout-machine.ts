import { RefusedError } from '@smgr/shared';
import {
  ACTIVE_STATES,
  type HostJobOutcome,
  type HostState,
  type PausableState,
  type RolloutCommand,
  type RolloutHost,
  type RolloutJobKind,
  type RolloutSnapshot,
  type RolloutState,
} from './rollout-types.js';

/**
 * The rollout state machine (diagrams in rollout-types.ts): pure functions
 * from a snapshot, an input and a clock reading to the next snapshot. No I/O;
 * the RolloutRunner persists what comes out and sends the jobs it asks for.
 *
 * Every function returns a new snapshot and leaves its input untouched, so the
 * runner can diff before and after and write only what changed.
 */

const FINAL_HOST_STATES: ReadonlySet<HostState> = new Set(['healthy', 'failed', 'skipped', 'aborted']);
const ROLLBACK_OPEN: ReadonlySet<HostState> = new Set(['checking', 'updating', 'rollback_pending', 'rolling_back']);

/** A job the machine wants run for a host right now. */
export interface WantedJob {
  hostId: string;
  kind: RolloutJobKind;
}

function clone(s: RolloutSnapshot): RolloutSnapshot {
  return {
    rollout: { ...s.rollout, spec: s.rollout.spec },
    hosts: s.hosts.map((h) => ({ ...h })),
  };
}

export function isActive(state: RolloutState): boolean {
  return ACTIVE_STATES.has(state);
}

/** Hosts whose update is over (final for the rollout phase). */
export function isHostFinal(state: HostState): boolean {
  return FINAL_HOST_STATES.has(state);
}

/** Failed hosts; during the rollout phase these count against max_failures. */
export function failureCount(s: RolloutSnapshot): number {
  return s.hosts.filter((h) => h.state === 'failed').length;
}

function finish(s: RolloutSnapshot, state: RolloutState, message: string, now: number): void {
  s.rollout.state = state;
  s.rollout.pausedFrom = null;
  s.rollout.waitUntil = null;
  s.rollout.message = message;
  s.rollout.finishedAt = now;
}

function setHost(h: RolloutHost, state: HostState, now: number, message?: string): void {
  h.state = state;
  h.updatedAt = now;
  if (message !== undefined) h.message = message;
  if (isHostFinal(state) || state === 'rolled_back' || state === 'rollback_failed') h.finishedAt = now;
}

/** Moves the hosts of `batch` from pending to checking. */
function startBatch(s: RolloutSnapshot, batch: number, now: number): void {
  s.rollout.currentBatch = batch;
  s.rollout.waitUntil = null;
  for (const h of s.hosts) {
    if (h.batch === batch && h.state === 'pending') {
      h.startedAt = now;
      setHost(h, 'checking', now, 'reading the installed version');
    }
  }
}

function lastBatch(s: RolloutSnapshot): number {
  return s.hosts.reduce((max, h) => Math.max(max, h.batch), 0);
}

/** Puts the rollout into rolling_back and marks which hosts must go back. */
function beginRollback(s: RolloutSnapshot, why: string, now: number): void {
  s.rollout.state = 'rolling_back';
  s.rollout.pausedFrom = null;
  s.rollout.waitUntil = null;
  s.rollout.finishedAt = null;
  s.rollout.message = why;
  for (const h of s.hosts) {
    switch (h.state) {
      case 'pending':
        setHost(h, 'skipped', now, 'not updated: the rollout is rolling back');
        break;
      case 'checking':
      case 'updating':
      case 'rolling_back':
        // Its job is still out; applyResult decides once it returns.
        break;
      case 'verifying':
      case 'healthy':
      case 'failed':
      case 'aborted':
      case 'rollback_failed':
        if (h.updateSent) markForRollback(h, s.rollout.service, now);
        break;
      default:
        break;
    }
  }
}

function markForRollback(h: RolloutHost, service: string, now: number): void {
  if (h.previousVersion === null) {
    setHost(
      h,
      'rollback_failed',
      now,
      `cannot roll back: no previous version was reported before the update (STATUS of ${service} on ${h.hostId} gave no version: ` +
        `is version_command set in its [process.${service}] section?), so there is no version to return to`,
    );
  } else {
    setHost(h, 'rollback_pending', now, `waiting to go back to ${h.previousVersion}`);
  }
}

function halt(s: RolloutSnapshot, why: string, now: number): void {
  if (s.rollout.spec.autoRollback) {
    beginRollback(s, `${why}; rolling back automatically`, now);
    return;
  }
  s.rollout.state = 'halted';
  s.rollout.pausedFrom = null;
  s.rollout.waitUntil = null;
  s.rollout.message = `${why}; halted: roll back or abort`;
}

/** Why the rollout must halt now, or null. */
function haltReason(s: RolloutSnapshot): string | null {
  const { spec } = s.rollout;
  if (spec.canary > 0) {
    const canaryFailed = s.hosts.find((h) => h.batch === 0 && h.state === 'failed');
    if (canaryFailed) return `canary ${canaryFailed.hostId} failed: ${canaryFailed.message}`;
  }
  const failed = failureCount(s);
  if (failed > spec.maxFailuresCount) {
    const last = [...s.hosts].filter((h) => h.state === 'failed').sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0))[0];
    return `${failed} host(s) failed, more than max_failures ${spec.maxFailuresCount}${last ? ` (last: ${last.hostId}: ${last.message})` : ''}`;
  }
  return null;
}

/**
 * Moves the rollout forward as far as `now` allows: halts on too many
 * failures, starts the next batch, waits for promotion, finishes. Idempotent:
 * advancing twice at the same time changes nothing the second time.
 */
export function advance(input: RolloutSnapshot, now: number): RolloutSnapshot {
  const s = clone(input);
  const r = s.rollout;
  if (r.state === 'running' || r.state === 'awaiting_promotion' || r.state === 'paused') {
    if (r.state !== 'paused' || r.pausedFrom !== 'rolling_back') {
      const why = haltReason(s);
      if (why !== null) halt(s, why, now);
    }
  }
  if (r.state === 'running') advanceRunning(s, now);
  if (r.state === 'rolling_back') advanceRollback(s, now);
  if (r.state !== input.rollout.state || r.message !== input.rollout.message) r.updatedAt = now;
  return s;
}

function advanceRunning(s: RolloutSnapshot, now: number): void {
  const r = s.rollout;
  const { spec } = r;
  const current = s.hosts.filter((h) => h.batch === r.currentBatch);
  if (current.some((h) => h.state === 'pending')) {
    startBatch(s, r.currentBatch, now);
    return;
  }
  if (!current.every((h) => isHostFinal(h.state))) return;
  const isCanaryBatch = spec.canary > 0 && r.currentBatch === 0;
  if (r.currentBatch >= lastBatch(s)) {
    const failed = failureCount(s);
    const healthy = s.hosts.filter((h) => h.state === 'healthy').length;
    finish(
      s,
      'succeeded',
      failed === 0
        ? `all ${healthy} host(s) healthy on ${r.version}`
        : `${healthy} host(s) healthy on ${r.version}; ${failed} failed (tolerated: max_failures ${spec.maxFailuresCount})`,
      now,
    );
    return;
  }
  if (isCanaryBatch && !spec.autoPromote) {
    r.state = 'awaiting_promotion';
    r.message = `${spec.canary} canary host(s) healthy on ${r.version}; waiting for promote`;
    return;
  }
  if (spec.pauseBetweenBatchesMs > 0) {
    if (r.waitUntil === null) {
      r.waitUntil = now + spec.pauseBetweenBatchesMs;
      r.message = `batch ${r.currentBatch + 1} done; next batch after a ${Math.round(spec.pauseBetweenBatchesMs / 1000)} s pause`;
      return;
    }
    if (now < r.waitUntil) return;
  }
  startBatch(s, r.currentBatch + 1, now);
  r.message = `updating batch ${r.currentBatch + 1} of ${lastBatch(s) + 1}`;
}

function advanceRollback(s: RolloutSnapshot, now: number): void {
  const r = s.rollout;
  let running = s.hosts.filter((h) => h.state === 'rolling_back').length;
  for (const h of s.hosts) {
    if (running >= r.spec.batchCount) break;
    if (h.state === 'rollback_pending') {
      h.rollbackAttempts += 1;
      setHost(h, 'rolling_back', now, `going back to ${h.previousVersion ?? '?'}`);
      running += 1;
    }
  }
  if (s.hosts.some((h) => ROLLBACK_OPEN.has(h.state))) return;
  const failed = s.hosts.filter((h) => h.state === 'rollback_failed');
  const back = s.hosts.filter((h) => h.state === 'rolled_back').length;
  if (failed.length > 0) {
    finish(
      s,
      'rollback_failed',
      `${failed.length} host(s) could not be rolled back (${failed
        .map((h) => h.hostId)
        .slice(0, 5)
        .join(', ')}); ${back} rolled back`,
      now,
    );
  } else {
    finish(s, 'rolled_back', `${back} host(s) back on their previous version`, now);
  }
}

/**
 * Records the outcome of a job the machine asked for. A result for a host
 * that has moved on in the meantime only updates its recorded version and
 * message.
 */
export function applyResult(input: RolloutSnapshot, hostId: string, kind: RolloutJobKind, outcome: HostJobOutcome, now: number): RolloutSnapshot {
  const s = clone(input);
  const h = s.hosts.find((x) => x.hostId === hostId);
  if (!h) return s;
  const r = s.rollout;
  const target = r.version;
  const expected: Record<RolloutJobKind, HostState> = {
    pre_status: 'checking',
    update: 'updating',
    probe: 'verifying',
    rollback: 'rolling_back',
  };
  if (h.state !== expected[kind]) {
    if (outcome.version !== '') h.currentVersion = outcome.version;
    if (kind === 'update' || kind === 'rollback') h.message = `${kind} finished after the host left ${expected[kind]}: ${outcome.message}`;
    h.updatedAt = now;
    return s;
  }
  if (outcome.version !== '') h.currentVersion = outcome.version;
  switch (kind) {
    case 'pre_status': {
      h.previousVersion = outcome.version === '' ? null : outcome.version;
      if (r.state === 'rolling_back' || r.state === 'halted' || r.state === 'aborted') {
        setHost(h, 'skipped', now, `not updated: the rollout is ${r.state.replace('_', ' ')}`);
      } else if (h.previousVersion === target) {
        h.deadlineAt = now + r.spec.healthyDeadlineMs;
        h.healthySince = null;
        setHost(h, 'verifying', now, `already on ${target}; checking health`);
      } else {
        h.updateSent = true;
        setHost(h, 'updating', now, `updating ${h.previousVersion ?? '(unknown version)'} -> ${target}`);
      }
      break;
    }
    case 'update': {
      if (r.state === 'rolling_back') {
        markForRollback(h, r.service, now);
      } else if (!outcome.ok) {
        setHost(h, 'failed', now, `update failed: ${outcome.message}`);
      } else {
        h.deadlineAt = now + r.spec.healthyDeadlineMs;
        h.healthySince = null;
        setHost(h, 'verifying', now, `updated to ${target}; checking health`);
      }
      break;
    }
    case 'probe': {
      h.probes += 1;
      const wrongVersion = outcome.ok && outcome.version !== '' && outcome.version !== target;
      if (outcome.ok && !wrongVersion) {
        h.healthySince ??= now;
        if (now - h.healthySince >= r.spec.minHealthyMs) {
          setHost(h, 'healthy', now, `healthy on ${target}`);
          break;
        }
        h.message = `healthy for ${Math.round((now - h.healthySince) / 100) / 10} s`;
      } else {
        h.healthySince = null;
        h.message = wrongVersion ? `reports version ${outcome.version}, expected ${target}` : `status failed: ${outcome.message}`;
      }
      if (h.deadlineAt !== null && now >= h.deadlineAt) {
        setHost(h, 'failed', now, `not healthy for ${r.spec.minHealthyMs / 1000} s within the healthy deadline: ${h.message}`);
      } else {
        h.updatedAt = now;
      }
      break;
    }
    case 'rollback': {
      if (outcome.ok) {
        h.currentVersion = outcome.version === '' ? h.previousVersion : outcome.version;
        setHost(h, 'rolled_back', now, `rolled back to ${h.currentVersion ?? '?'}`);
      } else {
        setHost(h, 'rollback_failed', now, `rollback failed: ${outcome.message}`);
      }
      break;
    }
  }
  return s;
}

const COMMAND_FROM: Record<RolloutCommand, readonly RolloutState[]> = {
  pause: ['running', 'awaiting_promotion', 'rolling_back'],
  resume: ['paused'],
  promote: ['awaiting_promotion'],
  abort: ['running', 'awaiting_promotion', 'paused', 'halted', 'rolling_back'],
  rollback: ['running', 'awaiting_promotion', 'paused', 'halted', 'succeeded', 'aborted', 'rollback_failed'],
};

/**
 * Applies an operator's command.
 * @throws RefusedError `INVALID_TRANSITION` when the rollout's state does not allow it
 */
export function applyCommand(input: RolloutSnapshot, command: RolloutCommand, now: number, by = ''): RolloutSnapshot {
  const from = input.rollout.state;
  if (!COMMAND_FROM[command].includes(from)) {
    throw new RefusedError(
      'INVALID_TRANSITION',
      `cannot ${command} rollout ${input.rollout.id}: it is ${from} (${command} is allowed when ${COMMAND_FROM[command].join(', ')})`,
      { context: { rolloutId: input.rollout.id, state: from, command } },
    );
  }
  const s = clone(input);
  const r = s.rollout;
  const who = by === '' ? '' : ` by ${by}`;
  switch (command) {
    case 'pause':
      r.pausedFrom = from as PausableState;
      r.state = 'paused';
      r.message = `paused${who}`;
      break;
    case 'resume':
      r.state = r.pausedFrom ?? 'running';
      r.pausedFrom = null;
      r.message = `resumed${who}`;
      break;
    case 'promote':
      r.state = 'running';
      startBatch(s, r.currentBatch + 1, now);
      r.message = `canary promoted${who}; updating batch ${r.currentBatch + 1} of ${lastBatch(s) + 1}`;
      break;
    case 'abort':
      for (const h of s.hosts) {
        if (h.state === 'pending') setHost(h, 'skipped', now, 'not updated: the rollout was aborted');
        else if (h.state === 'rollback_pending') setHost(h, 'aborted', now, 'not rolled back: the rollout was aborted');
        else if (['checking', 'updating', 'verifying', 'rolling_back'].includes(h.state)) {
          setHost(h, 'aborted', now, `aborted while ${h.state}`);
        }
      }
      finish(s, 'aborted', `aborted${who}`, now);
      break;
    case 'rollback':
      beginRollback(s, `rollback requested${who}`, now);
      break;
  }
  r.updatedAt = now;
  return advance(s, now);
}

/** The job each host needs now, by its state (probes are paced by the runner). */
export function wantedJobs(s: RolloutSnapshot): WantedJob[] {
  const out: WantedJob[] = [];
  for (const h of s.hosts) {
    if (h.state === 'checking') out.push({ hostId: h.hostId, kind: 'pre_status' });
    else if (h.state === 'updating') out.push({ hostId: h.hostId, kind: 'update' });
    else if (h.state === 'verifying') out.push({ hostId: h.hostId, kind: 'probe' });
    else if (h.state === 'rolling_back') out.push({ hostId: h.hostId, kind: 'rollback' });
  }
  return out;
}
