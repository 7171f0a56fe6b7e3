import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closestWord, withSuggestion } from './did-you-mean.js';

test('a typo gets the closest known word; a word far from all gets none', () => {
  const keys = ['check_interval', 'max_restart_failures', 'circuit_reset_time', 'retry_delay'];
  assert.equal(closestWord('check_intervall', keys), 'check_interval');
  assert.equal(closestWord('CHECK_INTERVAL', keys), 'check_interval');
  assert.equal(closestWord('retry_dealy', keys), 'retry_delay');
  assert.equal(closestWord('tsl', ['database', 'tls', 'api']), 'tls');
  assert.equal(closestWord('colour', keys), undefined);
  assert.equal(closestWord('x', ['api']), undefined);
});

test('withSuggestion appends "did you mean" only when there is a different close word', () => {
  assert.equal(withSuggestion('unknown key', 'urll', ['url', 'token']), 'unknown key; did you mean url?');
  assert.equal(
    withSuggestion('unknown section [tsl]', 'tsl', ['tls'], (w) => `[${w}]`),
    'unknown section [tsl]; did you mean [tls]?',
  );
  assert.equal(withSuggestion('unknown key', 'whatever', ['url']), 'unknown key');
});
