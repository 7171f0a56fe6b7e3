import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from './batcher.js';

test('items submitted together share one batch and get their own results in order', async () => {
  const batches: number[][] = [];
  const b = new Batcher<number, string>(async (items) => {
    batches.push(items);
    return items.map((i) => `r${i}`);
  });
  assert.deepEqual(await Promise.all([1, 2, 3].map((i) => b.submit(i))), ['r1', 'r2', 'r3']);
  assert.deepEqual(batches, [[1, 2, 3]]);
});

test('items arriving while a batch is being written go into the next batch, at most maxBatch at a time', async () => {
  const batches: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const b = new Batcher<number, number>(async (items) => {
    batches.push(items);
    if (batches.length === 1) await gate;
    return items;
  }, 2);
  const first = b.submit(1);
  await new Promise((r) => setImmediate(r));
  const later = [2, 3, 4].map((i) => b.submit(i));
  release();
  assert.deepEqual(await Promise.all([first, ...later]), [1, 2, 3, 4]);
  assert.deepEqual(batches, [[1], [2, 3], [4]]);
});

test('a failed batch rejects each of its items, and the next batch runs normally', async () => {
  let calls = 0;
  const b = new Batcher<number, number>(async (items) => {
    if (++calls === 1) throw new Error('MySQL went away');
    return items;
  });
  const failed = await Promise.allSettled([b.submit(1), b.submit(2)]);
  assert.deepEqual(
    failed.map((f) => f.status),
    ['rejected', 'rejected'],
  );
  assert.equal(await b.submit(3), 3);
});
