import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessConfig } from '@smgr/shared';
import { rankOrder } from './rank-order.js';

const svc = (name: string, startupRank: number) => ({ name, startupRank }) as ProcessConfig;
const names = (list: ProcessConfig[]) => list.map((s) => s.name);

test('start-all goes by ascending startup_rank and keeps config order within a rank', () => {
  const services = [svc('web', 20), svc('db', 10), svc('cache', 10), svc('worker', 30)];
  assert.deepEqual(names(rankOrder(services, 'start')), ['db', 'cache', 'web', 'worker']);
});

test('stop-all is exactly the reverse of start-all', () => {
  const services = [svc('web', 20), svc('db', 10), svc('cache', 10), svc('worker', 30)];
  assert.deepEqual(names(rankOrder(services, 'stop')), ['worker', 'web', 'cache', 'db']);
});

test('negative ranks come first and the input is not reordered in place', () => {
  const services = [svc('a', 0), svc('b', -5)];
  assert.deepEqual(names(rankOrder(services, 'start')), ['b', 'a']);
  assert.deepEqual(names(services), ['a', 'b']);
});
