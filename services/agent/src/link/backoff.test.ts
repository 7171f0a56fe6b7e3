import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jitteredBackoff } from './backoff.js';

test('the backoff ceiling doubles per attempt and stops at the maximum', () => {
  assert.equal(
    jitteredBackoff(0, 500, 30_000, () => 0.999999),
    499,
  );
  assert.equal(
    jitteredBackoff(3, 500, 30_000, () => 0.999999),
    3999,
  );
  assert.equal(
    jitteredBackoff(40, 500, 30_000, () => 0.999999),
    29_999,
  );
});

test('the delay is spread over the whole range, not clustered at the ceiling', () => {
  assert.equal(
    jitteredBackoff(5, 500, 30_000, () => 0),
    0,
  );
  assert.equal(
    jitteredBackoff(5, 500, 30_000, () => 0.5),
    8000,
  );
});
