import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, JobResultSchema, Outcome, type AgentEvent, type ProcessConfig } from '@smgr/shared';
import { LocalCircuitBreaker } from './local-circuit-breaker.js';
import { AgentEventKind } from '@smgr/shared';
import { LOCAL_REPAIR_WINDOW_MS, LOCAL_REPAIRS_PER_WINDOW, WatchResponder } from './watch-responder.js';
import { silentLogger } from '@smgr/testing';

const log = silentLogger();
const svc = { name: 'web', watchFailures: 2 } as ProcessConfig;

function responder(opts: { downSince: number | null; autonomyAfterMs?: number; repairOk?: boolean; now?: () => number }) {
  const published: AgentEvent[] = [];
  const superseded: AgentEvent[] = [];
  let repairs = 0;
  const now = opts.now ?? (() => 100_000);
  const r = new WatchResponder({
    autonomyAfterMs: opts.autonomyAfterMs ?? 30_000,
    downSince: () => opts.downSince,
    repair: async () => {
      repairs++;
      return create(JobResultSchema, { jobId: `auto-${repairs}`, outcome: opts.repairOk === false ? Outcome.FAILED : Outcome.SUCCEEDED, message: 'restarted' });
    },
    publish: (e) => published.push(e),
    supersede: (pred) => {
      for (let i = published.length - 1; i >= 0; i--) if (pred(published[i]!)) superseded.push(...published.splice(i, 1));
    },
    breaker: new LocalCircuitBreaker({ maxFailures: 2, resetMs: 60_000, now }),
    log,
    now,
  });
  return { r, published, superseded, repairs: () => repairs };
}

test('with the controller connected a failing service is reported once per failing spell, never repaired locally', async () => {
  const { r, published, repairs } = responder({ downSince: null });
  await r.onFailing(svc, 2, undefined);
  await r.onFailing(svc, 3, undefined);
  assert.deepEqual(
    published.map((e) => [e.kind, e.service, e.failures]),
    [[AgentEventKind.WATCH_FAILED, 'web', 2]],
  );
  r.onRecovered(svc);
  await r.onFailing(svc, 2, undefined);
  assert.equal(published.length, 2, 'a new spell is reported again');
  assert.equal(repairs(), 0);
});

test('a controller away for less than autonomy_after is waited for; after it, the agent repairs and replaces its report', async () => {
  const early = responder({ downSince: 90_000, autonomyAfterMs: 30_000 });
  await early.r.onFailing(svc, 2, undefined);
  assert.equal(early.repairs(), 0);
  assert.equal(early.published[0]?.kind, AgentEventKind.WATCH_FAILED);

  const late = responder({ downSince: 60_000, autonomyAfterMs: 30_000 });
  // The report made while waiting is still pending when autonomy starts.
  late.published.push(early.published[0]!);
  await late.r.onFailing(svc, 3, undefined);
  assert.equal(late.repairs(), 1);
  assert.deepEqual(
    late.published.map((e) => e.kind),
    [AgentEventKind.AUTONOMOUS_REPAIR],
  );
  assert.equal(late.superseded[0]?.kind, AgentEventKind.WATCH_FAILED);
  assert.match(late.published[0]!.message, /^repaired on the agent's own, controller unreachable for 40 s: restarted$/);
  assert.equal(late.published[0]!.result?.jobId, 'auto-1');
});

test('autonomy_after = 0 never repairs without the controller', async () => {
  const { r, repairs, published } = responder({ downSince: 0, autonomyAfterMs: 0 });
  await r.onFailing(svc, 2, undefined);
  assert.equal(repairs(), 0);
  assert.equal(published[0]?.kind, AgentEventKind.WATCH_FAILED);
});

/** Three failed checks from `service`'s watch_failures on, each repaired here and failing: the local breaker (2 failures) blocks the third repair; each failed one is reported. */
async function failedRepairsOpenTheBreaker(service: ProcessConfig, downSince: number | null): Promise<void> {
  const { r, repairs, published } = responder({ downSince, repairOk: false });
  for (let i = 0; i < 3; i++) await r.onFailing(service, service.watchFailures + i, undefined);
  assert.equal(repairs(), 2, 'the third is blocked by the open breaker');
  assert.deepEqual(
    published.map((e) => [e.kind, e.result?.outcome]),
    [
      [AgentEventKind.AUTONOMOUS_REPAIR, Outcome.FAILED],
      [AgentEventKind.AUTONOMOUS_REPAIR, Outcome.FAILED],
    ],
  );
}

test('the local circuit breaker stops autonomous repairs after max_restart_failures failures and the failure is reported', () =>
  failedRepairsOpenTheBreaker(svc, 0));

test('a successful repair by anyone ends the spell: a failure right after it is reported again (no lost repair)', async () => {
  const { r, published } = responder({ downSince: null });
  await r.onFailing(svc, 2, undefined);
  await r.onFailing(svc, 3, undefined);
  assert.equal(published.length, 1);
  // The controller's RESTART job succeeded; no watch check passed in between.
  r.endSpell('web');
  await r.onFailing(svc, 2, undefined);
  assert.deepEqual(
    published.map((e) => [e.kind, e.failures]),
    [
      [AgentEventKind.WATCH_FAILED, 2],
      [AgentEventKind.WATCH_FAILED, 2],
    ],
  );
});

test('a spell nobody repairs is reported again after the repeat interval', async () => {
  let now = 100_000;
  const published: AgentEvent[] = [];
  const r = new WatchResponder({
    autonomyAfterMs: 0,
    downSince: () => null,
    repair: async () => create(JobResultSchema, {}),
    publish: (e) => published.push(e),
    supersede: () => undefined,
    breaker: new LocalCircuitBreaker({ maxFailures: 2, resetMs: 60_000, now: () => now }),
    log,
    now: () => now,
    reportRepeatMs: 60_000,
  });
  await r.onFailing(svc, 2, undefined);
  now += 59_000;
  await r.onFailing(svc, 3, undefined);
  now += 1_000;
  await r.onFailing(svc, 4, undefined);
  assert.deepEqual(
    published.map((e) => e.failures),
    [2, 4],
  );
});

test('a failure found by an event says so in the report, after the check that confirmed it', async () => {
  const { r, published } = responder({ downSince: null });
  const record = {
    name: 'watch_check',
    argv: [],
    exitCode: 1,
    signal: '',
    ok: false,
    timedOut: false,
    startedAtMs: 0,
    durationMs: 1,
    outputTail: '',
    error: '',
  };
  await r.onFailing(svc, 1, record, { source: 'dbus', detail: 'systemd reported web.service failed/failed over D-Bus', conclusive: true });
  assert.equal(published[0]?.message, 'failed 1 watch checks in a row (exit 1; systemd reported web.service failed/failed over D-Bus)');
});

const local = { name: 'web', watchFailures: 1, watchRepair: 'agent' } as ProcessConfig;

test('watch_repair = agent: repaired here at once with the controller connected, the result reported for the history', async () => {
  const { r, published, repairs } = responder({ downSince: null });
  await r.onFailing(local, 1, undefined);
  assert.equal(repairs(), 1);
  assert.deepEqual(
    published.map((e) => [e.kind, e.result?.outcome]),
    [[AgentEventKind.AUTONOMOUS_REPAIR, Outcome.SUCCEEDED]],
  );
  assert.match(published[0]!.message, /^repaired by the agent at once \(watch_repair = agent; 1 failed check, no check result\): restarted$/);
});

test('watch_repair = agent: a failed local repair is reported (the controller raises the alarm); the open local breaker hands over to the controller', () =>
  failedRepairsOpenTheBreaker(local, null));

test('watch_repair = agent: a crash loop whose restarts succeed is repaired here at most LOCAL_REPAIRS_PER_WINDOW times a window, then reported to the controller', async () => {
  let t = 100_000;
  const { r, published, repairs } = responder({ downSince: null, now: () => t });
  for (let i = 0; i < LOCAL_REPAIRS_PER_WINDOW + 2; i++) {
    await r.onFailing(local, 1, undefined);
    r.endSpell('web'); // the successful repair ends the spell, as the job runner does
    t += 1_000;
  }
  assert.equal(repairs(), LOCAL_REPAIRS_PER_WINDOW);
  assert.deepEqual(
    published.slice(LOCAL_REPAIRS_PER_WINDOW).map((e) => e.kind),
    [AgentEventKind.WATCH_FAILED, AgentEventKind.WATCH_FAILED],
    'each failure past the limit is reported, none is lost',
  );
  t += LOCAL_REPAIR_WINDOW_MS;
  await r.onFailing(local, 1, undefined);
  assert.equal(repairs(), LOCAL_REPAIRS_PER_WINDOW + 1, 'repaired here again once the window has passed');
});
