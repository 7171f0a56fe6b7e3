import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleTrim } from './idle-trim.js';
import { silentLogger } from '@smgr/testing';

const log = silentLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('one collection after a burst, once the work has stopped for afterMs; none without work', async () => {
  let collections = 0;
  const trim = new IdleTrim({ log, afterMs: 30, collect: () => collections++ });
  await sleep(100);
  assert.equal(collections, 0, 'no work, no collection');
  for (let i = 0; i < 5; i++) trim.touch();
  assert.equal(collections, 0, 'not at once');
  while (collections === 0) await sleep(5);
  await sleep(100);
  assert.equal(collections, 1, 'once per burst, however much work it had');
  trim.touch();
  trim.stop();
  await sleep(100);
  assert.equal(collections, 1, 'stop cancels a pending trim');
});

test("the default collector is V8's full GC (then malloc_trim) and returns heap a burst left behind", async () => {
  const trim = new IdleTrim({ log, afterMs: 1 });
  let garbage: unknown[] | null = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
  assert.ok(garbage.length > 0);
  garbage = null;
  const before = process.memoryUsage().heapUsed;
  trim.touch();
  await sleep(50);
  assert.ok(process.memoryUsage().heapUsed < before, 'the garbage was collected');
});
