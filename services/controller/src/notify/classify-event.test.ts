import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyEvent, type EventRowView } from './classify-event.js';

const row = (over: Partial<EventRowView>): EventRowView => ({
  id: 1,
  at: new Date(0),
  kind: 'repair',
  processId: 3,
  hostId: 'web1',
  service: 'nginx',
  outcome: 'failed',
  message: 'repair failed on web1: start command exited 1',
  detail: null,
  ...over,
});

test('a failed repair fires repair_failed for the process on its host, and breaker_open when the breaker opened', () => {
  const s = classifyEvent(row({}));
  assert.deepEqual(
    s.filter((x) => x.op === 'fire').map((x) => x.op === 'fire' && x.key),
    ['repair_failed:3:web1'],
  );
  const opened = classifyEvent(row({ message: 'circuit open until 2026-01-01 00:00:00Z; repair failed on web1: x' }));
  assert.deepEqual(
    opened.filter((x) => x.op === 'fire').map((x) => x.op === 'fire' && x.key),
    ['repair_failed:3:web1', 'breaker_open:3:web1'],
  );
});

test('a successful repair resolves what the process had, and the watch alarm of that host service', () => {
  const s = classifyEvent(row({ outcome: 'succeeded', message: 'restarted' }));
  assert.equal(s.length, 2);
  assert.ok(s.every((x) => x.op === 'resolve'));
  assert.deepEqual(s[0]!.op === 'resolve' && s[0]!.match, { processId: 3, events: ['repair_failed', 'breaker_open', 'alarm_unplaced', 'watch_alarm'] });
  assert.deepEqual(s[1]!.op === 'resolve' && s[1]!.match, { hostId: 'web1', service: 'nginx', events: ['watch_alarm'] });
});

test('watch failures, log matches, unplaced alarms and rollouts map to their events', () => {
  const watch = classifyEvent(row({ kind: 'agent_event', outcome: 'failing', processId: null }));
  assert.equal(watch[0]!.op === 'fire' && watch[0]!.event, 'watch_alarm');
  const log = classifyEvent(row({ kind: 'agent_event', outcome: null, detail: { kind: 'log_match', severity: 'critical' } }));
  assert.ok(log[0]!.op === 'fire' && log[0]!.event === 'log_pattern' && log[0]!.severity === 'critical' && !log[0]!.resolvable);
  assert.equal(classifyEvent(row({ kind: 'unplaced', outcome: 'AMBIGUOUS', hostId: null }))[0]!.op === 'fire', true);
  const halted = classifyEvent(row({ kind: 'rollout', hostId: null, outcome: 'halted', message: 'rollout 3 running -> halted' }));
  assert.ok(halted[0]!.op === 'fire' && halted[0]!.event === 'rollout_halted');
  // A host's own rollout rows are not news for the rollout as a whole.
  assert.deepEqual(classifyEvent(row({ kind: 'rollout', outcome: 'succeeded' })), []);
  assert.deepEqual(classifyEvent(row({ kind: 'operation' })), []);
});
