import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeCell, safeJson, safeText } from './sanitize.js';
import { table } from './table.js';

test('terminal control sequences in agent and database strings are shown, not acted on', () => {
  const hostile = 'web\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe\rrm';
  assert.equal(safeText(hostile), 'web\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\\x0drm');
  assert.equal(safeText('two\nlines\tand tabs ünïcode'), 'two\nlines\tand tabs ünïcode', 'newlines, tabs and ordinary text are kept');
  assert.equal(safeCell('a\nb\tc'), 'a b c');
  const out = table(['NAME'], [[hostile]]);
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(out), JSON.stringify(out));
});

test('--json output escapes the control characters JSON.stringify leaves raw, and still parses to the same value', () => {
  const value = { name: 'a\x1b[2J\x9b\u202eb' };
  const text = safeJson(value);
  assert.ok(!/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/.test(text), text);
  assert.deepEqual(JSON.parse(text), value);
});
