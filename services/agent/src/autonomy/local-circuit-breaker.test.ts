import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalCircuitBreaker } from './local-circuit-breaker.js';

test('the local breaker opens after max_restart_failures failures in a row, per service', () => {
  let now = 0;
  const b = new LocalCircuitBreaker({ maxFailures: 2, resetMs: 1000, now: () => now });
  assert.deepEqual(b.decide('a'), { allowed: true, trial: false });
  b.onFailure('a');
  assert.deepEqual(b.decide('a'), { allowed: true, trial: false });
  b.onFailure('a');
  assert.deepEqual(b.decide('a'), { allowed: false, openUntil: 1000 });
  assert.deepEqual(b.decide('b'), { allowed: true, trial: false });
  now = 1000;
  assert.deepEqual(b.decide('a'), { allowed: true, trial: true });
});

test('a failed trial opens it again at once and a success closes it', () => {
  let now = 0;
  const b = new LocalCircuitBreaker({ maxFailures: 1, resetMs: 500, now: () => now });
  b.onFailure('a');
  now = 600;
  assert.equal(b.decide('a').allowed, true);
  b.onFailure('a');
  assert.deepEqual(b.decide('a'), { allowed: false, openUntil: 1100 });
  now = 1100;
  b.onSuccess('a');
  assert.deepEqual(b.decide('a'), { allowed: true, trial: false });
});
