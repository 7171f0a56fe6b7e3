import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, AgentEventSchema } from '@smgr/shared';
import { EventOutbox } from './event-outbox.js';

const event = (id: string, service = 'svc') => create(AgentEventSchema, { eventId: id, kind: 'watch_failed', service, atMs: 1n, message: id });

const withDir = (t: { after(fn: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-outbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** The pending events' ids, oldest first. */
const ids = (outbox: EventOutbox) => outbox.list().map((e) => e.eventId);

test('pending events survive a restart and acknowledged ones do not come back', (t) => {
  const dir = withDir(t);
  const a = new EventOutbox(dir, 10);
  a.add(event('e1'));
  a.add(event('e2'));
  a.add(event('e3'));
  assert.equal(a.ack('e2'), true);
  assert.equal(a.ack('e2'), false, 'a second ack changes nothing');
  const b = new EventOutbox(dir, 10);
  assert.deepEqual(ids(b), ['e1', 'e3']);
  assert.equal(b.list()[0]?.message, 'e1');
});

test('the outbox keeps at most max entries, dropping the oldest, also after a reload', (t) => {
  const dir = withDir(t);
  const a = new EventOutbox(dir, 3);
  for (let i = 1; i <= 5; i++) a.add(event(`e${i}`));
  assert.deepEqual(ids(a), ['e3', 'e4', 'e5']);
  assert.equal(a.dropped, 2);
  assert.deepEqual(ids(new EventOutbox(dir, 3)), ['e3', 'e4', 'e5']);
});

test('a torn last line after a crash loses only that line', (t) => {
  const dir = withDir(t);
  const a = new EventOutbox(dir, 10);
  a.add(event('e1'));
  appendFileSync(join(dir, 'events.journal'), 'E e2 AAAA%%%');
  assert.deepEqual(ids(new EventOutbox(dir, 10)), ['e1']);
});

test('compaction keeps exactly the pending events', (t) => {
  const dir = withDir(t);
  const a = new EventOutbox(dir, 2);
  for (let i = 0; i < 400; i++) {
    a.add(event(`x${i}`));
    a.ack(`x${i}`);
  }
  a.add(event('last'));
  assert.deepEqual(ids(new EventOutbox(dir, 2)), ['last']);
});

test('superseded events are removed for good', (t) => {
  const dir = withDir(t);
  const a = new EventOutbox(dir, 10);
  a.add(event('w1', 'web'));
  a.add(event('d1', 'db'));
  assert.deepEqual(
    a.removeWhere((e) => e.service === 'web'),
    ['w1'],
  );
  assert.deepEqual(ids(new EventOutbox(dir, 10)), ['d1']);
});
