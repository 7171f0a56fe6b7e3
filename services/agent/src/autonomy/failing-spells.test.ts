import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailingSpells } from './failing-spells.js';

test('a spell is reported once, then again only after repeatMs while it goes on', () => {
  const s = new FailingSpells(60_000);
  assert.equal(s.claimReport('web', 1_000), true);
  assert.equal(s.claimReport('web', 2_000), false);
  assert.equal(s.claimReport('web', 60_999), false);
  assert.equal(s.claimReport('web', 61_000), true, 'a long unrepaired spell is reported again');
  assert.equal(s.claimReport('db', 61_000), true, 'spells are per service');
});

test('ending a spell (a repair by anyone, or a passing check) makes the very next failure reportable', () => {
  const s = new FailingSpells(60_000);
  assert.equal(s.claimReport('web', 1_000), true);
  s.end('web');
  assert.equal(s.claimReport('web', 1_001), true, 'a failure right after a repair is a new spell');
});

test('a spell marked reported by a failed autonomous repair is not reported again at once', () => {
  const s = new FailingSpells(60_000);
  s.markReported('web', 5_000);
  assert.equal(s.claimReport('web', 6_000), false);
  assert.equal(s.claimReport('web', 65_000), true);
});
