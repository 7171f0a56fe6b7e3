import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deliveryFields, type DeliveryData } from './delivery-queue.js';
import { sign, verify } from './fleet-secret.js';
import { parse } from './fleet-usage.js';

const secret = randomBytes(32);
const data: DeliveryData = {
  hostId: 'h1',
  spec: { jobId: 'op-1-0', operation: 2, service: 'web', version: '', deadlineMs: 10_000 },
  notAfter: 1_800_000_000_000,
  from: 'ctl-1',
};

test('a delivery verifies only with its secret, its fields unchanged and its own target queue', () => {
  const sig = sign(secret, deliveryFields('ctl-2', data));
  assert.equal(verify(secret, deliveryFields('ctl-2', data), sig), true);
  assert.equal(verify(randomBytes(32), deliveryFields('ctl-2', data), sig), false, 'another secret');
  assert.equal(verify(secret, deliveryFields('ctl-3', data), sig), false, 'moved to another controller queue');
  for (const changed of [
    { ...data, hostId: 'h2' },
    { ...data, from: 'ctl-3' },
    { ...data, notAfter: data.notAfter + 1 },
    { ...data, spec: { ...data.spec, service: 'db' } },
    { ...data, spec: { ...data.spec, operation: 3 } },
    { ...data, spec: { ...data.spec, jobId: 'op-2-0' } },
    { ...data, spec: { ...data.spec, action: 'flush' } },
    { ...data, spec: { ...data.spec, version: '2.0' } },
    { ...data, spec: { ...data.spec, deadlineMs: 1 } },
  ]) {
    assert.equal(verify(secret, deliveryFields('ctl-2', changed), sig), false, JSON.stringify(changed));
  }
  for (const bad of [undefined, '', 'zz'.repeat(32), sig.slice(0, 62), `${sig}00`, 42]) assert.equal(verify(secret, deliveryFields('ctl-2', data), bad), false);
});

test('field boundaries cannot be shifted: ["a,b", "c"] and ["a", "b,c"] sign differently', () => {
  assert.notEqual(sign(secret, ['a","b', 'c']), sign(secret, ['a', 'b","c']));
  assert.notEqual(sign(secret, ['a', 'b']), sign(secret, ['ab', '']));
});

test('a shared usage report from Redis is shape-checked and reduced to known fields', () => {
  const good = { hostId: 'h1', receivedAtMs: 5, services: [{ service: 'web', running: true, source: 'proc', sampledAt: 'x', rssBytes: 7, extra: '<b>' }] };
  const p = parse(JSON.stringify(good), 'h1');
  assert.ok(p);
  assert.equal(p.services.length, 1);
  assert.equal((p.services[0] as unknown as Record<string, unknown>).extra, undefined);
  assert.equal(p.services[0]?.rssBytes, 7);
  assert.equal(parse(JSON.stringify(good), 'h2'), null, 'a report filed under another host');
  assert.equal(parse('{not json', 'h1'), null);
  assert.equal(parse(null, 'h1'), null);
  assert.equal(parse(JSON.stringify({ ...good, receivedAtMs: 'soon' }), 'h1'), null);
  assert.deepEqual(parse(JSON.stringify({ ...good, services: [{ service: 1 }] }), 'h1')?.services, []);
});
