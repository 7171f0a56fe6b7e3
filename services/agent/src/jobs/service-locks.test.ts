import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceLocks } from './service-locks.js';

test('work on one key runs one after another, in the order it was queued, even when one fails', async () => {
  const locks = new ServiceLocks();
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = locks.run('svc', async () => {
    order.push('a start');
    await gate;
    order.push('a end');
    throw new Error('a failed');
  });
  const b = locks.run('svc', async () => {
    order.push('b');
    return 'b done';
  });
  const other = locks.run('other', async () => {
    order.push('other');
  });
  await other;
  assert.equal(locks.isBusy('svc'), true);
  release();
  await assert.rejects(a, /a failed/);
  assert.equal(await b, 'b done');
  assert.deepEqual(order, ['a start', 'other', 'a end', 'b']);
  await new Promise((r) => setImmediate(r));
  assert.equal(locks.isBusy('svc'), false);
});
