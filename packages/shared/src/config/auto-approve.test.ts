import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoApproves, parseAutoApprove } from './auto-approve.js';

test('"*" and host globs match host ids; "none" and empty match nothing', () => {
  assert.equal(autoApproves(parseAutoApprove('*')!, 'web1', {}), true);
  assert.deepEqual(parseAutoApprove('none'), []);
  assert.deepEqual(parseAutoApprove(''), []);
  assert.equal(autoApproves(parseAutoApprove('none')!, 'web1', {}), false);
  const rules = parseAutoApprove('web*, db-??.dc1')!;
  assert.equal(autoApproves(rules, 'web17', {}), true);
  assert.equal(autoApproves(rules, 'db-01.dc1', {}), true);
  assert.equal(autoApproves(rules, 'db-001.dc1', {}), false);
  assert.equal(autoApproves(rules, 'xweb1', {}), false);
  // a dot in a pattern is a dot, not "any character"
  assert.equal(autoApproves(rules, 'db-01xdc1', {}), false);
});

test('key=value terms match the labels the agent reports, with globs in the value', () => {
  const rules = parseAutoApprove('role=web, tier=edge-*')!;
  assert.equal(autoApproves(rules, 'h1', { role: 'web' }), true);
  assert.equal(autoApproves(rules, 'h1', { tier: 'edge-eu' }), true);
  assert.equal(autoApproves(rules, 'h1', { role: 'db' }), false);
  assert.equal(autoApproves(rules, 'h1', {}), false);
  assert.equal(autoApproves(parseAutoApprove('constructor=*')!, 'h1', {}), false);
});

test('malformed terms are refused', () => {
  for (const bad of ['web 1', 'a,,b', '=x', 'role=', 'none,web*', 'we/b']) assert.equal(parseAutoApprove(bad), undefined, bad);
});
