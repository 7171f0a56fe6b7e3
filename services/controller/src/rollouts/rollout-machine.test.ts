import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RefusedError } from '@smgr/shared';
import { advance, applyCommand, applyResult, wantedJobs } from './rollout-machine.js';
import { pendingHost } from './rollout-request.js';
import { assignBatches, resolveCount } from './rollout-sizes.js';
import type { HostJobOutcome, RolloutJobKind, RolloutSnapshot, RolloutSpec } from './rollout-types.js';

function spec(over: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    service: 'web',
    version: 'v2',
    selector: {},
    batchSize: 1,
    batchCount: 1,
    canary: 0,
    autoPromote: true,
    pauseBetweenBatchesMs: 0,
    minHealthyMs: 0,
    healthyDeadlineMs: 10_000,
    probeIntervalMs: 1_000,
    maxFailures: 0,
    maxFailuresCount: 0,
    autoRollback: false,
    jobTimeoutMs: 60_000,
    ...over,
  };
}

function snapshot(hostCount: number, over: Partial<RolloutSpec> = {}): RolloutSnapshot {
  const sp = spec(over);
  const batches = assignBatches(hostCount, sp.canary, sp.batchCount);
  return {
    rollout: {
      id: 7,
      service: sp.service,
      version: sp.version,
      state: 'running',
      pausedFrom: null,
      spec: sp,
      currentBatch: 0,
      waitUntil: null,
      createdBy: 'test',
      createdAt: 0,
      updatedAt: 0,
      finishedAt: null,
      message: '',
    },
    hosts: batches.map((batch, i) => pendingHost(`h${i + 1}`, i, batch)),
  };
}

/** A fleet whose hosts run v1 and answer like agents do; `behave` overrides per host and job. */
type Behaviour = (hostId: string, kind: RolloutJobKind, installed: Map<string, string>) => HostJobOutcome | undefined;

interface SimLog {
  /** "h3:update" in the order jobs were run. */
  jobs: string[];
  installed: Map<string, string>;
}

/**
 * Runs the machine the way the runner does: advance, run every wanted job
 * (all jobs of one round "at once"), apply the results, with the clock moving
 * `stepMs` per round, until nothing is wanted or `maxRounds` pass.
 */
function simulate(s0: RolloutSnapshot, behave: Behaviour = () => undefined, opts: { stepMs?: number; maxRounds?: number; log?: SimLog } = {}) {
  const log = opts.log ?? { jobs: [], installed: new Map(s0.hosts.map((h) => [h.hostId, 'v1'])) };
  let s = s0;
  let now = s.rollout.updatedAt;
  for (let round = 0; round < (opts.maxRounds ?? 200); round++) {
    s = advance(s, now);
    const jobs = wantedJobs(s);
    if (jobs.length === 0 && s.rollout.waitUntil === null) break;
    now += opts.stepMs ?? 1_000;
    for (const job of jobs) {
      log.jobs.push(`${job.hostId}:${job.kind}`);
      const custom = behave(job.hostId, job.kind, log.installed);
      let out: HostJobOutcome;
      if (custom) out = custom;
      else if (job.kind === 'update') {
        log.installed.set(job.hostId, s.rollout.version);
        out = { ok: true, version: s.rollout.version, message: 'updated' };
      } else if (job.kind === 'rollback') {
        const prev = s.hosts.find((h) => h.hostId === job.hostId)?.previousVersion ?? '';
        log.installed.set(job.hostId, prev);
        out = { ok: true, version: prev, message: 'rolled back' };
      } else out = { ok: true, version: log.installed.get(job.hostId) ?? '', message: 'up' };
      s = applyResult(s, job.hostId, job.kind, out, now);
    }
  }
  return { s, log, now };
}

const states = (s: RolloutSnapshot) => Object.fromEntries(s.hosts.map((h) => [h.hostId, h.state]));
const updatesInOrder = (log: SimLog) => log.jobs.filter((j) => j.endsWith(':update')).map((j) => j.split(':')[0]);

describe('rollout state machine', () => {
  it('updates 10 hosts as one canary then batches of 3, in order, and succeeds', () => {
    const { s, log } = simulate(snapshot(10, { canary: 1, batchCount: 3, batchSize: 3, autoPromote: true }));
    assert.equal(s.rollout.state, 'succeeded');
    assert.deepEqual(updatesInOrder(log), ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8', 'h9', 'h10']);
    assert.deepEqual(
      s.hosts.map((h) => h.batch),
      [0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    );
    assert.ok(s.hosts.every((h) => h.state === 'healthy' && h.previousVersion === 'v1' && h.currentVersion === 'v2'));
    // No host of a batch starts before the previous batch is healthy.
    for (const h of s.hosts) {
      const earlier = s.hosts.filter((x) => x.batch < h.batch);
      assert.ok(
        earlier.every((x) => (x.finishedAt ?? Infinity) <= (h.startedAt ?? -1)),
        `${h.hostId} started after earlier batches finished`,
      );
    }
  });

  it('waits after the canary until promoted, then continues', () => {
    const { s } = simulate(snapshot(4, { canary: 1, batchCount: 2, autoPromote: false }));
    assert.equal(s.rollout.state, 'awaiting_promotion');
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'pending', h3: 'pending', h4: 'pending' });
    assert.throws(
      () => applyCommand(s, 'resume', 5),
      (e: unknown) => e instanceof RefusedError && e.code === 'INVALID_TRANSITION',
    );
    const promoted = applyCommand(s, 'promote', s.rollout.updatedAt + 1, 'alice');
    assert.equal(promoted.rollout.state, 'running');
    assert.match(promoted.rollout.message, /promoted by alice/);
    const done = simulate(promoted).s;
    assert.equal(done.rollout.state, 'succeeded');
  });

  it('halts when a host fails its health gate and starts no further host', () => {
    const bad = (host: string, kind: RolloutJobKind): HostJobOutcome | undefined =>
      host === 'h3' && kind === 'probe' ? { ok: false, version: 'v2', message: 'health check exited 1' } : undefined;
    const { s, log } = simulate(snapshot(6, { batchCount: 2 }), bad);
    assert.equal(s.rollout.state, 'halted');
    assert.match(s.rollout.message, /h3/);
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'healthy', h3: 'failed', h4: 'healthy', h5: 'pending', h6: 'pending' });
    assert.deepEqual(updatesInOrder(log), ['h1', 'h2', 'h3', 'h4']);
    assert.match(s.hosts[2]!.message, /not healthy .* within the healthy deadline: status failed: health check exited 1/);
  });

  it('with auto-rollback, returns every updated host (the failing one too) to its previous version without a canary phase', () => {
    const bad = (host: string, kind: RolloutJobKind): HostJobOutcome | undefined =>
      host === 'h5' && kind === 'probe' ? { ok: false, version: 'v2', message: 'down' } : undefined;
    const { s, log } = simulate(snapshot(8, { canary: 1, batchCount: 2, autoRollback: true }), bad);
    assert.equal(s.rollout.state, 'rolled_back');
    assert.deepEqual(states(s), {
      h1: 'rolled_back',
      h2: 'rolled_back',
      h3: 'rolled_back',
      h4: 'rolled_back',
      h5: 'rolled_back',
      h6: 'skipped',
      h7: 'skipped',
      h8: 'skipped',
    });
    assert.ok(
      [...log.installed.entries()].every(([, v]) => v === 'v1'),
      'every host runs v1 again',
    );
    const rollbackJobs = log.jobs.filter((j) => j.endsWith(':rollback'));
    assert.equal(rollbackJobs.length, 5);
    assert.ok(!log.jobs.slice(log.jobs.indexOf(rollbackJobs[0]!)).some((j) => j.endsWith(':probe')), 'no health gate during rollback');
  });

  it('a failed canary halts at once even when max_failures would tolerate it', () => {
    const bad = (host: string, kind: RolloutJobKind): HostJobOutcome | undefined =>
      host === 'h1' && kind === 'update' ? { ok: false, version: '', message: 'install exited 2' } : undefined;
    const { s } = simulate(snapshot(5, { canary: 1, batchCount: 2, maxFailuresCount: 3, maxFailures: 3 }), bad);
    assert.equal(s.rollout.state, 'halted');
    assert.match(s.rollout.message, /canary h1 failed: update failed: install exited 2/);
  });

  it('tolerates failures up to max_failures and says so when it succeeds', () => {
    const bad = (host: string, kind: RolloutJobKind): HostJobOutcome | undefined =>
      host === 'h2' && kind === 'update' ? { ok: false, version: 'v1', message: 'boom' } : undefined;
    const { s } = simulate(snapshot(4, { batchCount: 2, maxFailuresCount: 1, maxFailures: '25%' }), bad);
    assert.equal(s.rollout.state, 'succeeded');
    assert.match(s.rollout.message, /3 host\(s\) healthy on v2; 1 failed \(tolerated: max_failures 1\)/);
  });

  it('needs min_healthy_time of consecutive passing probes; a failing probe starts the count again', () => {
    let probes = 0;
    const flappy = (_h: string, kind: RolloutJobKind): HostJobOutcome | undefined => {
      if (kind !== 'probe') return undefined;
      probes += 1;
      return probes === 2 ? { ok: false, version: 'v2', message: 'blip' } : undefined;
    };
    const { s } = simulate(snapshot(1, { minHealthyMs: 3_000 }), flappy);
    assert.equal(s.rollout.state, 'succeeded');
    // probe 1 ok (t0), probe 2 fails (reset), probes 3..6 ok: 3 s after probe 3.
    assert.equal(s.hosts[0]!.probes, 6);
  });

  it('counts a host reporting another version than the target as unhealthy', () => {
    const stale = (_h: string, kind: RolloutJobKind): HostJobOutcome | undefined => (kind === 'probe' ? { ok: true, version: 'v1', message: 'up' } : undefined);
    const { s } = simulate(snapshot(1, { healthyDeadlineMs: 2_500 }), stale);
    assert.equal(s.rollout.state, 'halted');
    assert.match(s.hosts[0]!.message, /reports version v1, expected v2/);
  });

  it('does not update a host already on the target version but still checks its health', () => {
    const log: SimLog = {
      jobs: [],
      installed: new Map([
        ['h1', 'v2'],
        ['h2', 'v1'],
      ]),
    };
    const { s } = simulate(snapshot(2), undefined, { log });
    assert.equal(s.rollout.state, 'succeeded');
    assert.deepEqual(updatesInOrder(log), ['h2']);
    assert.equal(s.hosts[0]!.updateSent, false);
    assert.ok(log.jobs.includes('h1:probe'));
  });

  it('pauses between batches for the configured time', () => {
    const s0 = snapshot(2, { pauseBetweenBatchesMs: 5_000 });
    const { s, now } = simulate(s0, undefined, { maxRounds: 4 });
    assert.equal(s.rollout.state, 'running');
    assert.equal(s.hosts[1]!.state, 'pending');
    assert.ok(s.rollout.waitUntil !== null && s.rollout.waitUntil > now);
    assert.equal(advance(s, s.rollout.waitUntil - 1).hosts[1]!.state, 'pending');
    assert.equal(advance(s, s.rollout.waitUntil).hosts[1]!.state, 'checking');
  });

  it('while paused starts no new host but records results of hosts in flight; resume continues', () => {
    let s = advance(snapshot(3), 0);
    s = applyResult(s, 'h1', 'pre_status', { ok: true, version: 'v1', message: '' }, 1);
    s = applyCommand(s, 'pause', 2, 'bob');
    assert.equal(s.rollout.state, 'paused');
    s = applyResult(s, 'h1', 'update', { ok: true, version: 'v2', message: '' }, 3);
    s = applyResult(s, 'h1', 'probe', { ok: true, version: 'v2', message: '' }, 4);
    s = advance(s, 5);
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'pending', h3: 'pending' });
    assert.deepEqual(wantedJobs(s), []);
    s = applyCommand(s, 'resume', 6);
    assert.equal(s.rollout.state, 'running');
    assert.equal(s.hosts[1]!.state, 'checking');
    assert.equal(simulate(s).s.rollout.state, 'succeeded');
  });

  it('abort skips pending hosts, marks hosts in flight aborted, and ignores their late results', () => {
    let s = advance(snapshot(4, { batchCount: 2 }), 0);
    s = applyResult(s, 'h1', 'pre_status', { ok: true, version: 'v1', message: '' }, 1);
    s = applyCommand(s, 'abort', 2, 'carol');
    assert.equal(s.rollout.state, 'aborted');
    assert.deepEqual(states(s), { h1: 'aborted', h2: 'aborted', h3: 'skipped', h4: 'skipped' });
    s = applyResult(s, 'h1', 'update', { ok: true, version: 'v2', message: 'done' }, 3);
    assert.equal(s.hosts[0]!.state, 'aborted');
    assert.equal(s.hosts[0]!.currentVersion, 'v2');
    assert.deepEqual(wantedJobs(s), []);
    assert.throws(() => applyCommand(s, 'pause', 4), /cannot pause rollout 7: it is aborted/);
  });

  it('rollback after abort returns the hosts whose update was sent, and a host with no previous version fails to roll back', () => {
    let s = advance(snapshot(3, { batchCount: 3 }), 0);
    s = applyResult(s, 'h1', 'pre_status', { ok: true, version: 'v1', message: '' }, 1);
    s = applyResult(s, 'h2', 'pre_status', { ok: false, version: '', message: 'down' }, 1);
    s = applyResult(s, 'h3', 'pre_status', { ok: true, version: 'v2', message: '' }, 1);
    s = applyResult(s, 'h1', 'update', { ok: true, version: 'v2', message: '' }, 2);
    s = applyResult(s, 'h2', 'update', { ok: true, version: 'v2', message: '' }, 2);
    s = applyCommand(s, 'abort', 3);
    s = applyCommand(s, 'rollback', 4, 'dave');
    assert.equal(s.rollout.state, 'rolling_back');
    assert.deepEqual(states(s), { h1: 'rolling_back', h2: 'rollback_failed', h3: 'aborted' });
    s = applyResult(s, 'h1', 'rollback', { ok: true, version: 'v1', message: '' }, 5);
    s = advance(s, 6);
    assert.equal(s.rollout.state, 'rollback_failed');
    assert.match(s.rollout.message, /1 host\(s\) could not be rolled back \(h2\); 1 rolled back/);
    assert.match(s.hosts[1]!.message, /no previous version/);
    assert.match(s.hosts[1]!.message, /STATUS of web on h2 gave no version: is version_command set in its \[process\.web\] section\?/);
  });

  it('numbers batches from 1 in its messages, as the rollout view does ("batch N of M")', () => {
    let s = advance(snapshot(2, { batchCount: 1 }), 0);
    s = applyResult(s, 'h1', 'pre_status', { ok: true, version: 'v2', message: '' }, 1);
    s = advance(applyResult(s, 'h1', 'probe', { ok: true, version: 'v2', message: '' }, 2), 2);
    assert.equal(s.hosts[0]!.state, 'healthy');
    assert.equal(s.rollout.currentBatch, 1);
    assert.equal(s.rollout.message, 'updating batch 2 of 2');
  });

  it('rolls back batch_size hosts at a time', () => {
    let s = simulate(snapshot(5, { batchCount: 2 })).s;
    assert.equal(s.rollout.state, 'succeeded');
    s = applyCommand(s, 'rollback', s.rollout.updatedAt + 1);
    assert.equal(s.hosts.filter((h) => h.state === 'rolling_back').length, 2);
    assert.equal(s.hosts.filter((h) => h.state === 'rollback_pending').length, 3);
    s = simulate(s).s;
    assert.equal(s.rollout.state, 'rolled_back');
  });

  it('a rollback requested while an update is in flight waits for it, then rolls that host back too', () => {
    let s = advance(snapshot(2, { batchCount: 2 }), 0);
    s = applyResult(s, 'h1', 'pre_status', { ok: true, version: 'v1', message: '' }, 1);
    s = applyCommand(s, 'rollback', 2);
    assert.equal(s.hosts[0]!.state, 'updating');
    s = applyResult(s, 'h2', 'pre_status', { ok: true, version: 'v1', message: '' }, 3);
    assert.equal(s.hosts[1]!.state, 'skipped');
    s = advance(applyResult(s, 'h1', 'update', { ok: true, version: 'v2', message: '' }, 4), 4);
    assert.equal(s.hosts[0]!.state, 'rolling_back');
  });
});

describe('rollout sizes', () => {
  it('resolves percentages against the host count: batch sizes round up, tolerances round down', () => {
    assert.equal(resolveCount('25%', 10, 'up'), 3);
    assert.equal(resolveCount('25%', 10, 'down'), 2);
    assert.equal(resolveCount(4, 10, 'up'), 4);
    assert.equal(resolveCount('1%', 10, 'up'), 1);
  });

  it('puts canaries in batch 0 and the rest in batches after it', () => {
    assert.deepEqual(assignBatches(5, 0, 2), [0, 0, 1, 1, 2]);
    assert.deepEqual(assignBatches(5, 2, 2), [0, 0, 1, 1, 2]);
    assert.deepEqual(assignBatches(4, 1, 10), [0, 1, 1, 1]);
  });
});
