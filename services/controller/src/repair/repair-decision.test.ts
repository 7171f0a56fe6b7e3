import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, JobResultSchema, Outcome } from '@smgr/shared';
import { CircuitBreaker, CLOSED } from './circuit-breaker.js';
import { decideRepair, repairAttempt, type RepairAttempt } from './repair-decision.js';

const now = Date.parse('2026-11-22T10:00:00Z');
const breaker = new CircuitBreaker({ maxFailures: 3, resetMs: 60_000 });
const failed: RepairAttempt = { success: false, summary: 'exit 1', outcome: 'failed' };
const decide = (attempt: RepairAttempt, before = CLOSED, retryDelayMs = 10_000) => decideRepair({ attempt, hostId: 'h1', before, breaker, now, retryDelayMs });

test("an attempt reads success, summary and outcome label from the agent's result, or from the error that left none", () => {
  const result = (outcome: Outcome, message: string) => create(JobResultSchema, { outcome, message });
  assert.deepEqual(repairAttempt(result(Outcome.SUCCEEDED, 'restarted, pid 1 -> 2'), null), {
    success: true,
    summary: 'restarted, pid 1 -> 2',
    outcome: 'succeeded',
  });
  assert.deepEqual(repairAttempt(result(Outcome.FAILED, 'start failed'), null), { success: false, summary: 'start failed', outcome: 'failed' });
  assert.deepEqual(
    repairAttempt(result(Outcome.REFUSED, ''), null),
    { success: false, summary: 'REFUSED', outcome: 'refused' },
    'no message: the outcome name',
  );
  assert.deepEqual(repairAttempt(null, 'job timed out after 30000 ms'), { success: false, summary: 'job timed out after 30000 ms', outcome: 'no_result' });
  assert.deepEqual(repairAttempt(null, null), { success: false, summary: 'no result', outcome: 'no_result' });
});

test('a success closes the breaker, notes what the agent did and schedules no retry', () => {
  const d = decide({ success: true, summary: 'restarted', outcome: 'succeeded' }, { consecutiveFailures: 2, openUntil: null });
  assert.deepEqual(d, { note: 'restarted', breaker: CLOSED, retryAt: null });
});

test('a failure below the limit counts against the breaker and is retried after the retry delay', () => {
  const d = decide(failed, { consecutiveFailures: 1, openUntil: null });
  assert.deepEqual(d, {
    note: 'repair failed on h1: exit 1',
    breaker: { consecutiveFailures: 2, openUntil: null },
    retryAt: new Date(now + 10_000),
  });
});

test('the failure that reaches the limit opens the breaker, says so first in the note, and is retried when it closes', () => {
  const d = decide(failed, { consecutiveFailures: 2, openUntil: null });
  assert.deepEqual(d.breaker, { consecutiveFailures: 3, openUntil: now + 60_000 });
  assert.equal(d.note, 'circuit open until 2026-11-22 10:01:00Z; repair failed on h1: exit 1');
  assert.deepEqual(d.retryAt, new Date(now + 60_000));
});

test('a retry delay longer than the breaker reset wins over the reset', () => {
  const d = decide(failed, { consecutiveFailures: 2, openUntil: null }, 120_000);
  assert.deepEqual(d.retryAt, new Date(now + 120_000));
});

test('a failed half-open trial opens the breaker again for the reset time', () => {
  const d = decide(failed, { consecutiveFailures: 3, openUntil: now - 1 });
  assert.deepEqual(d.breaker, { consecutiveFailures: 4, openUntil: now + 60_000 });
  assert.deepEqual(d.retryAt, new Date(now + 60_000));
});
