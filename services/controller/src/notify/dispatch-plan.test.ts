import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig } from '@smgr/shared';
import type { AlertRow } from './alert-types.js';
import { planDispatch, receiversFor, type RouteContext } from './dispatch-plan.js';

const route = (over: Partial<RouteConfig> = {}): RouteConfig => ({
  name: 'r',
  receivers: ['ops'],
  events: undefined,
  services: undefined,
  labels: {},
  minSeverity: 'info',
  requireSound: false,
  ...over,
});
const alert = (key: string, over: Partial<AlertRow> = {}): AlertRow => ({
  key,
  event: 'repair_failed',
  severity: 'critical',
  state: 'firing',
  resolvable: true,
  processId: 1,
  hostId: 'web1',
  service: key,
  message: `${key} failed`,
  firedAt: new Date(1_000),
  resolvedAt: null,
  notifiedFiring: false,
  notifiedResolved: false,
  ...over,
});
const ctx: RouteContext = { labelsOf: (h: string) => (h === 'web1' ? { role: 'web' } : ({} as Record<string, string>)), soundOf: (p: number) => p === 7 };
const opts = { now: 20_000, groupWaitMs: 10_000, sendResolved: true, maxListed: 5, controllerId: 'c1' };

test('200 alerts of one event on one host become one message per receiver, listing at most max_alerts_listed', () => {
  const alerts = Array.from({ length: 200 }, (_, i) => alert(`svc${i}`, { firedAt: new Date(1_000 + i) }));
  const plan = planDispatch(alerts, [route({ receivers: ['ops', 'mail'] })], ctx, opts);
  assert.equal(plan.messages.length, 2);
  assert.deepEqual(
    plan.messages.map((m) => [m.receiver, m.count, m.alerts.length, m.status]),
    [
      ['ops', 200, 5, 'firing'],
      ['mail', 200, 5, 'firing'],
    ],
  );
  assert.equal(plan.firingDone.length, 200);
  assert.match(plan.messages[0]!.title, /^\[FIRING\] repair_failed on web1: 200 alerts$/);
});

test('a group waits until its oldest alert is group_wait old, then takes the younger ones along', () => {
  const young = [alert('a', { firedAt: new Date(15_000) })];
  assert.equal(planDispatch(young, [route()], ctx, opts).messages.length, 0);
  const mixed = [alert('a', { firedAt: new Date(15_000) }), alert('b', { firedAt: new Date(9_000) })];
  const plan = planDispatch(mixed, [route()], ctx, opts);
  assert.equal(plan.messages.length, 1);
  assert.equal(plan.messages[0]!.count, 2);
});

test('different hosts or events are different messages', () => {
  const plan = planDispatch([alert('a'), alert('b', { hostId: 'web2' }), alert('c', { event: 'watch_alarm', severity: 'warning' })], [route()], ctx, opts);
  assert.equal(plan.messages.length, 3);
});

test('resolved alerts that were notified get one resolve message; ones resolved before notice get none', () => {
  const notified = Array.from({ length: 3 }, (_, i) => alert(`s${i}`, { state: 'resolved', notifiedFiring: true, resolvedAt: new Date(5_000) }));
  const unseen = alert('x', { state: 'resolved', resolvedAt: new Date(5_000) });
  const plan = planDispatch([...notified, unseen], [route()], ctx, opts);
  assert.equal(plan.messages.length, 1);
  assert.equal(plan.messages[0]!.status, 'resolved');
  assert.equal(plan.messages[0]!.count, 3);
  assert.deepEqual(plan.firingDone, ['x']);
  assert.deepEqual(plan.resolvedDone.sort(), ['s0', 's1', 's2', 'x']);
});

test('send_resolved = false and one-off alerts close without a resolve message', () => {
  const r = alert('a', { state: 'resolved', notifiedFiring: true, resolvedAt: new Date(1) });
  assert.equal(planDispatch([r], [route()], ctx, { ...opts, sendResolved: false }).messages.length, 0);
  const oneOff = alert('ro', { event: 'rollout_succeeded', severity: 'info', resolvable: false });
  const plan = planDispatch([oneOff], [route()], ctx, opts);
  assert.equal(plan.messages.length, 1);
  assert.deepEqual(plan.resolvedDone, ['ro']);
});

test('the same content gives the same message id (a re-enqueue is a no-op); other content another', () => {
  const a = planDispatch([alert('a')], [route()], ctx, opts).messages[0]!;
  const b = planDispatch([alert('a')], [route()], ctx, { ...opts, now: 99_000 }).messages[0]!;
  const c = planDispatch([alert('a', { firedAt: new Date(2_000) })], [route()], ctx, opts).messages[0]!;
  assert.equal(a.id, b.id);
  assert.notEqual(a.id, c.id);
});

test('routes filter by event, service glob, host labels, severity and the sound flag', () => {
  const a = alert('nginx', { processId: 7 });
  assert.deepEqual(receiversFor(a, [route({ events: ['watch_alarm'] })], ctx), []);
  assert.deepEqual(receiversFor(a, [route({ events: ['repair_failed'] })], ctx), ['ops']);
  assert.deepEqual(receiversFor(a, [route({ services: ['ng*'] })], ctx), ['ops']);
  assert.deepEqual(receiversFor(a, [route({ services: ['apache'] })], ctx), []);
  assert.deepEqual(receiversFor(a, [route({ labels: { role: 'web' } })], ctx), ['ops']);
  assert.deepEqual(receiversFor(a, [route({ labels: { role: 'db' } })], ctx), []);
  assert.deepEqual(receiversFor(alert('x', { severity: 'warning' }), [route({ minSeverity: 'critical' })], ctx), []);
  assert.deepEqual(receiversFor(a, [route({ requireSound: true })], ctx), ['ops']);
  assert.deepEqual(receiversFor(alert('y', { processId: 8 }), [route({ requireSound: true })], ctx), []);
  assert.deepEqual(receiversFor(a, [route(), route({ receivers: ['ops', 'pager'] })], ctx), ['ops', 'pager']);
});
