/**
 * The repair policy, pure: how an attempt ended (from the agent's result or
 * the error that left none), and what follows from it once the process's
 * stored breaker state is known — the note, the breaker's next state and
 * when to try again. RepairWorker does the I/O around it; OutcomeStore
 * applies a decision in the same transaction that reads the breaker.
 */
import { Outcome, type JobResult } from '@smgr/shared';
import { noteTimestamp } from '../alarms/notes.js';
import type { BreakerState, CircuitBreaker } from './circuit-breaker.js';

/** How one repair attempt ended. */
export interface RepairAttempt {
  success: boolean;
  /** The result's message (else its outcome's name), the error, or 'no result'. */
  summary: string;
  /** The label of metrics and events: 'succeeded', the outcome's name in lower case ('failed', 'refused'), or 'no_result'. */
  outcome: string;
}

/** Reads an attempt from the agent's result, or from `error` when there is none (timeout, host gone). */
export function repairAttempt(result: JobResult | null, error: string | null): RepairAttempt {
  const success = result?.outcome === Outcome.SUCCEEDED;
  const summary = result ? result.message || Outcome[result.outcome] : (error ?? 'no result');
  const outcome = success ? 'succeeded' : result ? (Outcome[result.outcome] ?? 'failed').toLowerCase() : 'no_result';
  return { success, summary, outcome };
}

/** What an attempt comes to. */
export interface RepairDecision {
  /** The alarm's note and the event's message. */
  note: string;
  /** The process's breaker on this host after the attempt. */
  breaker: BreakerState;
  /** When the incident is tried again; null after a success (it is resolved). */
  retryAt: Date | null;
}

export interface RepairDecisionInput {
  attempt: RepairAttempt;
  hostId: string;
  /** The breaker state stored for the process on this host, read with the incident locked. */
  before: BreakerState;
  breaker: CircuitBreaker;
  /** Epoch ms of the attempt's end. */
  now: number;
  retryDelayMs: number;
}

/**
 * A success closes the breaker and says what the agent did. A failure counts
 * against the breaker (opening it at its limit, which the note says first)
 * and is tried again after the retry delay, or when the breaker lets it
 * through, whichever is later.
 */
export function decideRepair(i: RepairDecisionInput): RepairDecision {
  if (i.attempt.success) return { note: i.attempt.summary, breaker: i.breaker.onSuccess(), retryAt: null };
  const breaker = i.breaker.onFailure(i.before, i.now);
  const failed = `repair failed on ${i.hostId}: ${i.attempt.summary}`;
  const note = breaker.openUntil === null ? failed : `circuit open until ${noteTimestamp(new Date(breaker.openUntil))}; ${failed}`;
  return { note, breaker, retryAt: new Date(Math.max(i.now + i.retryDelayMs, breaker.openUntil ?? 0)) };
}
