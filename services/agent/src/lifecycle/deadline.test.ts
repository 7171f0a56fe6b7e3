import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deadline } from './deadline.js';

test('a command gets the smaller of its own limit and what the operation has left', () => {
  let now = 1000;
  const d = new Deadline(5000, () => now);
  assert.equal(d.cap(60_000), 5000);
  now = 4000;
  assert.equal(d.cap(1000), 1000);
  assert.equal(d.cap(60_000), 2000);
  now = 7000;
  assert.equal(d.remaining(), 0);
  assert.equal(d.expired(), true);
  assert.equal(d.cap(1000), 0);
});

test('a wait that would pass the deadline is not started', async () => {
  const d = new Deadline(50);
  assert.equal(await d.sleep(10_000), false);
  assert.equal(await d.sleep(0), true);
});
