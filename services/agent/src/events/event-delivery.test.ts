import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, AgentEventSchema, type AgentEvent } from '@smgr/shared';
import { EventOutbox } from './event-outbox.js';
import { EventDelivery } from './event-delivery.js';
import { silentLogger } from '@smgr/testing';

const log = silentLogger();
const event = (id: string) => create(AgentEventSchema, { eventId: id, kind: 'watch_failed', service: 's', atMs: 1n });

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-delivery-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let up = false;
  const sent: string[] = [];
  const outbox = new EventOutbox(dir, 10);
  const delivery = new EventDelivery({
    outbox,
    send: (e: AgentEvent) => {
      if (!up) return false;
      sent.push(e.eventId);
      return true;
    },
    log,
    resendAfterMs: 30,
  });
  t.after(() => delivery.stop());
  return { dir, outbox, delivery, sent, setUp: (v: boolean) => (up = v) };
}

test('events made while the controller is away are kept and sent, oldest first, on connect', (t) => {
  const s = setup(t);
  s.delivery.publish(event('a'));
  s.delivery.publish(event('b'));
  assert.deepEqual(s.sent, []);
  s.setUp(true);
  s.delivery.connected();
  assert.deepEqual(s.sent, ['a', 'b']);
});

test('an event leaves the outbox only when acknowledged; unacknowledged ones are sent again', (t) => {
  // Mocked time: the resend timer and the sent-at clock move only when ticked.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const s = setup(t);
  s.setUp(true);
  s.delivery.connected();
  s.delivery.publish(event('a'));
  s.delivery.publish(event('b'));
  s.delivery.ack('a');
  assert.deepEqual(
    s.outbox.list().map((e) => e.eventId),
    ['b'],
  );
  t.mock.timers.tick(29);
  assert.equal(s.sent.filter((id) => id === 'b').length, 1, 'not sent again before resendAfterMs');
  t.mock.timers.tick(51);
  assert.ok(s.sent.filter((id) => id === 'b').length >= 2, `b was sent again: ${s.sent.join(',')}`);
  assert.equal(s.sent.filter((id) => id === 'a').length, 1);
  s.delivery.ack('b');
  assert.equal(s.outbox.size(), 0);
});

test('after a reconnect every pending event is sent again, and a new agent process finds them on disk', (t) => {
  const s = setup(t);
  s.setUp(true);
  s.delivery.connected();
  s.delivery.publish(event('a'));
  s.delivery.disconnected();
  s.delivery.connected();
  assert.deepEqual(s.sent, ['a', 'a']);
  assert.deepEqual(
    new EventOutbox(s.dir, 10).list().map((e) => e.eventId),
    ['a'],
  );
});
