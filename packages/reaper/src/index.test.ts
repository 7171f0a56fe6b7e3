import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadReaper } from './index.js';

const reaper = loadReaper();

test('the subreaper flag is set and read back through prctl', () => {
  reaper.setChildSubreaper(true);
  assert.equal(reaper.isChildSubreaper(), true);
  reaper.setChildSubreaper(false);
  assert.equal(reaper.isChildSubreaper(), false);
});

test('reap() of a process that is not a child fails with ECHILD, and bad arguments are type errors', () => {
  assert.throws(
    () => reaper.reap(1),
    (err: Error & { errno?: number }) => err.errno === constants.errno.ECHILD && /^waitpid: /.test(err.message),
  );
  assert.throws(() => reaper.reap(0), TypeError);
  assert.throws(() => reaper.reap(-1), TypeError);
});

test('reap() returns null while the child runs and leaves it to run', async () => {
  const child = spawn('sleep', ['5'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
  assert.equal(reaper.reap(child.pid!), null);
  child.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'libuv still reaps it and reports its signal');
});

test('trimMalloc() hands freed malloc memory back to the kernel', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const rssMiB = () => process.memoryUsage.rss() / 2 ** 20;
  // 40 MiB of small ArrayBuffers (their stores come from malloc, below its
  // mmap threshold); the last one stays alive on top of the heap, so free()
  // alone cannot shrink it.
  let burst: ArrayBuffer[] | null = Array.from({ length: 40_000 }, () => new ArrayBuffer(1024));
  const pin = new ArrayBuffer(1024);
  burst = null;
  gc();
  gc();
  const before = rssMiB();
  assert.equal(reaper.trimMalloc(), true);
  const after = rssMiB();
  assert.ok(before - after > 10, `RSS ${before.toFixed(1)} -> ${after.toFixed(1)} MiB`);
  assert.equal(pin.byteLength, 1024);
  assert.equal(burst, null);
});
