import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeedBuffer } from './feed-buffer.js';

test('a client that reconnects with its last id is replayed exactly the events after it', () => {
  const b = new FeedBuffer(10, 1000);
  const ids = ['a', 'b', 'c', 'd'].map((t) => b.push('alarms', t).id);
  const missed = b.since(ids[1]);
  assert.ok(Array.isArray(missed));
  assert.deepEqual(
    missed.map((e) => e.data),
    ['c', 'd'],
  );
  assert.deepEqual(b.since(ids[3]), []);
});

test('a first connection (no Last-Event-ID) gets nothing replayed', () => {
  const b = new FeedBuffer(10, 1000);
  b.push('hosts', {});
  assert.deepEqual(b.since(undefined), []);
});

test('an id older than the buffer, from another run, from the future or malformed gets reset', () => {
  const b = new FeedBuffer(2, 1000);
  const first = b.push('alarms', 1).id;
  const second = b.push('alarms', 2).id;
  b.push('alarms', 3);
  const fourth = b.push('alarms', 4).id;
  assert.equal(b.since(first), 'reset', 'event 2 was dropped by capacity');
  assert.deepEqual(
    (b.since(second) as { data: number }[]).map((e) => e.data),
    [3, 4],
    'nothing after event 2 was dropped',
  );
  assert.deepEqual(b.since(fourth), []);
  assert.equal(b.since(new FeedBuffer(2, 2000).push('alarms', 1).id), 'reset');
  assert.equal(b.since(`${(1000).toString(36)}.99`), 'reset');
  assert.equal(b.since('x'.repeat(400)), 'reset');
});

test('after clear, every earlier id gets reset and the reset event carries the current id', () => {
  const b = new FeedBuffer(10, 1000);
  const id = b.push('alarms', 1).id;
  b.clear();
  assert.equal(b.since(id), 'reset');
  const r = b.resetEvent();
  assert.equal(r.topic, 'reset');
  assert.deepEqual(b.since(r.id), []);
  const next = b.push('hosts', {});
  assert.deepEqual(
    (b.since(r.id) as { id: string }[]).map((e) => e.id),
    [next.id],
  );
});

test('viewer data is kept apart from the full data', () => {
  const b = new FeedBuffer(10, 1000);
  const e = b.push('history', { argv: ['x'] }, { redacted: ['argv'] });
  assert.deepEqual(e.viewerData, { redacted: ['argv'] });
});
