import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePlacement } from './placement.js';

const registry = (map: Record<string, string[]>) => (s: string) => map[s] ?? [];

test('an explicit placement row wins over the name and the registry', () => {
  const p = resolvePlacement('nginx@web1', [{ hostId: 'web9', service: 'nginx' }], registry({ 'nginx@web1': ['x'] }));
  assert.deepEqual(p, { ok: true, hostId: 'web9', service: 'nginx', via: 'table' });
});

test('a name@host process name is placed on that host', () => {
  assert.deepEqual(resolvePlacement('nginx@web-1.dc', [], registry({})), {
    ok: true,
    hostId: 'web-1.dc',
    service: 'nginx',
    via: 'name@host',
  });
});

test('a plain name goes to the single agent that manages it', () => {
  assert.deepEqual(resolvePlacement('redis', [], registry({ redis: ['db1'] })), {
    ok: true,
    hostId: 'db1',
    service: 'redis',
    via: 'registry',
  });
});

test('a name managed by several agents is ambiguous and names them', () => {
  const p = resolvePlacement('redis', [], registry({ redis: ['a', 'b'] }));
  assert.equal(p.ok, false);
  assert.equal(!p.ok && p.code, 'AMBIGUOUS');
  assert.match(!p.ok ? p.reason : '', /a, b/);
});

test('empty, unmanaged and control-character names are refused with a reason', () => {
  assert.equal(resolvePlacement('', [], registry({})).ok, false);
  const unplaced = resolvePlacement('x; touch CANARY', [], registry({}));
  assert.deepEqual(unplaced, { ok: false, code: 'UNPLACED', reason: 'no agent manages "x; touch CANARY"' });
  const bad = resolvePlacement('a\u0000b', [], registry({}));
  assert.equal(!bad.ok && bad.code, 'BAD_NAME');
});

test('a 100-character name is quoted shortened in the reason', () => {
  const p = resolvePlacement('n'.repeat(100), [], registry({}));
  assert.ok(!p.ok && p.reason.length < 80);
});
