import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker, CLOSED, type BreakerState } from './circuit-breaker.js';

const breaker = new CircuitBreaker({ maxFailures: 3, resetMs: 1_800_000 });

test('a closed breaker allows repairs', () => {
  assert.deepEqual(breaker.decide(CLOSED, 0), { allowed: true, trial: false });
});

test('the breaker opens after max consecutive failures and blocks until the reset time', () => {
  let s = CLOSED;
  for (let i = 0; i < 2; i++) s = breaker.onFailure(s, 1000);
  assert.equal(s.openUntil, null);
  s = breaker.onFailure(s, 1000);
  assert.equal(s.openUntil, 1000 + 1_800_000);
  assert.deepEqual(breaker.decide(s, 1000 + 1_799_999), { allowed: false, openUntil: 1_801_000 });
});

test('after the reset time one trial is allowed; its failure opens the breaker again at once', () => {
  let s: BreakerState = { consecutiveFailures: 3, openUntil: 5000 };
  assert.deepEqual(breaker.decide(s, 5000), { allowed: true, trial: true });
  s = breaker.onFailure(s, 6000);
  assert.deepEqual(breaker.decide(s, 6001), { allowed: false, openUntil: 6000 + 1_800_000 });
});

test('a success closes the breaker and forgets past failures', () => {
  assert.deepEqual(breaker.onSuccess(), CLOSED);
});
