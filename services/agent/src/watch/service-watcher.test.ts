import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessConfig } from '@smgr/shared';
import { ServiceWatcher, type ServiceWatcherOptions, type WatchCheck } from './service-watcher.js';
import { silentLogger } from '@smgr/testing';

const log = silentLogger();
const svc = (name: string) => ({ name, watchIntervalMs: 20, watchFailures: 3 }) as ProcessConfig;

/**
 * Moves mocked time one watch interval (20 ms) at a time, letting the checks'
 * promises settle between steps, until `done()` (at most 200 steps).
 */
async function drive(t: TestContext, done: () => boolean): Promise<void> {
  for (let step = 0; step < 200 && !done(); step++) {
    t.mock.timers.tick(20);
    await new Promise((r) => setImmediate(r));
  }
  // One more round, so that an onFailing already under way lands.
  t.mock.timers.tick(20);
  await new Promise((r) => setImmediate(r));
}

/**
 * A watcher with what these tests share: nothing skipped, no jitter, every
 * onFailing call recorded in `failing`; `over` sets the rest.
 */
function watcher(over: Pick<ServiceWatcherOptions, 'services' | 'check'> & Partial<ServiceWatcherOptions>) {
  const failing: [string, number][] = [];
  const w = new ServiceWatcher({
    skip: () => null,
    onFailing: async (s, n) => {
      failing.push([s.name, n]);
    },
    log,
    random: () => 0,
    ...over,
  });
  return { w, failing };
}

/** Starts `w` on mocked timers, drives it until `done()`, stops it. */
async function runUntil(t: TestContext, w: ServiceWatcher, done: () => boolean): Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  w.start();
  await drive(t, done);
  w.stop();
}

/** Runs a watcher over scripted check results until every script is used up. */
async function watch(t: TestContext, results: Record<string, boolean[]>, skip: (s: ProcessConfig) => string | null = () => null) {
  const calls: string[] = [];
  const recovered: [string, number][] = [];
  let finished = false;
  const { w, failing } = watcher({
    services: Object.keys(results).map(svc),
    check: async (s): Promise<WatchCheck> => {
      calls.push(s.name);
      const next = results[s.name]!.shift();
      if (Object.values(results).every((r) => r.length === 0)) finished = true;
      return { ok: next ?? true, record: undefined };
    },
    skip,
    onRecovered: (s, n) => recovered.push([s.name, n]),
  });
  await runUntil(t, w, () => finished);
  return { calls, failing, recovered };
}

test('only the watch_failures-th consecutive failure and those after it reach onFailing; a pass resets the count', async (t) => {
  const { failing, recovered } = await watch(t, { a: [false, false, true, false, false, false, false, true] });
  assert.deepEqual(failing, [
    ['a', 3],
    ['a', 4],
  ]);
  assert.deepEqual(recovered, [
    ['a', 2],
    ['a', 4],
  ]);
});

test('a skipped round is not a check and does not count', async (t) => {
  let rounds = 0;
  const { calls, failing } = await watch(t, { b: [false, false, false] }, () => (rounds++ % 2 === 0 ? 'an operation is running' : null));
  assert.equal(calls.length, 3);
  assert.deepEqual(failing, [['b', 3]]);
});

test('endSpell (a repair by anyone) restarts the count, so the next failure reaches onFailing again from watch_failures', async (t) => {
  const failing: [string, number][] = [];
  const script = [false, false, false, /* repaired here */ false, false, false];
  let i = 0;
  const { w } = watcher({
    services: [svc('c')],
    check: async (): Promise<WatchCheck> => ({ ok: script[i++] ?? true, record: undefined }),
    onFailing: async (s, n) => {
      failing.push([s.name, n]);
      // The controller's repair succeeds the first time it is asked for.
      if (failing.length === 1) w.endSpell('c');
    },
  });
  await runUntil(t, w, () => i >= script.length);
  assert.deepEqual(
    failing,
    [
      ['c', 3],
      ['c', 3],
    ],
    'without endSpell the second spell would go on counting (4, 5, 6) and never be a new report',
  );
});

test('a check that was running when an operation started or ended is dropped', async (t) => {
  let calls = 0;
  const { w, failing } = watcher({
    services: [{ name: 'd', watchIntervalMs: 20, watchFailures: 1 } as ProcessConfig],
    check: async (): Promise<WatchCheck> => {
      calls++;
      // The first check sees the service down just as a repair starts.
      if (calls === 1) w.invalidate('d');
      return { ok: calls !== 1, record: undefined };
    },
  });
  await runUntil(t, w, () => calls >= 3);
  assert.deepEqual(failing, []);
  assert.equal(w.failureCount('d'), 0);
});

test('an event trigger: a failing check after a conclusive one (systemd says failed) is reported at once, after another counts as one failure', async () => {
  const failing: [string, number, string | undefined][] = [];
  let release!: () => void;
  let calls = 0;
  const w = new ServiceWatcher({
    // One round an hour: only checkNow checks here.
    services: [{ name: 'u', watchIntervalMs: 3_600_000, watchFailures: 3 } as ProcessConfig],
    check: async (): Promise<WatchCheck> => {
      calls++;
      // The second check started while the unit still ran (it passes); systemd's "failed" comes during it.
      if (calls === 2) {
        await new Promise<void>((r) => (release = r));
        return { ok: true, record: undefined };
      }
      return { ok: false, record: undefined };
    },
    skip: () => null,
    onFailing: async (s, n, _last, trigger) => {
      failing.push([s.name, n, trigger?.source]);
    },
    log,
  });
  w.start();
  try {
    w.checkNow('u', { source: 'dbus', detail: 'deactivating' });
    await waitUntil(() => calls === 1);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(failing, [], 'not conclusive: one failure of three');
    assert.equal(w.failureCount('u'), 1);
    // A check is under way when systemd says "failed": it is checked again right after, not dropped.
    w.checkNow('u', { source: 'exit' });
    await waitUntil(() => calls === 2);
    w.checkNow('u', { source: 'dbus', detail: 'failed', conclusive: true });
    release();
    await waitUntil(() => failing.length === 1);
    assert.deepEqual(failing, [['u', 1, 'dbus']], 'reported on its first failed check');
    assert.equal(calls, 3);
  } finally {
    w.stop();
  }
});

async function waitUntil(fn: () => boolean): Promise<void> {
  const until = Date.now() + 5_000;
  while (!fn()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}
test('a service known to be up (its started process has not exited) is checked for real once, then not while it stays known up', async () => {
  const calls: string[] = [];
  let up = true;
  const w = new ServiceWatcher({
    services: [svc('k'), svc('u')],
    check: async (s): Promise<WatchCheck> => {
      calls.push(s.name);
      return { ok: true, record: undefined };
    },
    skip: () => null,
    onFailing: async () => undefined,
    knownUp: (s) => s.name === 'k' && up,
    verifyKnownUpMs: 3_600_000,
    log,
    random: () => 0,
  });
  const keepAlive = setInterval(() => undefined, 1000);
  const count = (n: string) => calls.filter((c) => c === n).length;
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5));
  };
  w.start();
  await until(() => count('u') >= 4);
  assert.equal(count('k'), 1, 'the first round checks it for real; later rounds know it is up');
  up = false;
  await until(() => count('k') >= 3);
  clearInterval(keepAlive);
  w.stop();
});

test('exits seen in one turn of the event loop are checked together, each once, whatever knownUp says', async () => {
  const calls: string[] = [];
  const w = new ServiceWatcher({
    services: [svc('x'), svc('y'), { ...svc('z'), watchIntervalMs: 60_000 }],
    check: async (s): Promise<WatchCheck> => {
      calls.push(s.name);
      return { ok: false, record: undefined };
    },
    skip: () => null,
    onFailing: async () => undefined,
    knownUp: () => true,
    log,
  });
  w.checkNow('x');
  w.checkNow('y');
  w.checkNow('x');
  w.checkNow('not-watched');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls.sort(), ['x', 'y']);
  w.stop();
});
