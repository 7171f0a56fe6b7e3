import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from './token-bucket.js';
import { LogThrottle } from './log-throttle.js';

test('a token bucket allows its burst, refuses the excess, and refills at its rate per key', () => {
  let now = 0;
  const b = new TokenBuckets({ capacity: 3, refillPerSecond: 2, now: () => now });
  assert.deepEqual(
    [1, 2, 3, 4].map(() => b.take('h1')),
    [true, true, true, false],
  );
  assert.equal(b.take('h2'), true, 'another host has its own bucket');
  now = 499;
  assert.equal(b.take('h1'), false, 'less than one token after 0.499 s at 2/s');
  now = 500;
  assert.equal(b.take('h1'), true);
  now = 100_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => b.take('h1')),
    [true, true, true, false],
    'never more than the capacity saved up',
  );
});

test('a log throttle lets one line per key per interval through and counts the rest', () => {
  let now = 0;
  const t = new LogThrottle(1000, () => now);
  assert.deepEqual(t.hit('a'), { suppressed: 0 });
  assert.equal(t.hit('a'), null);
  assert.equal(t.hit('a'), null);
  assert.deepEqual(t.hit('b'), { suppressed: 0 });
  now = 1000;
  assert.deepEqual(t.hit('a'), { suppressed: 2 });
});
