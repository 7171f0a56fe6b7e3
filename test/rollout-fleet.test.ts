import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { startRollout, waitForRollout } from '@smgr/testing/operator-api';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * Rolling updates over ten real agents on loopback, each managing the same
 * service with its own files (packages/testing/src/support/operator-api.ts fleetService).
 * The tests share the fleet and run in order; each starts from whatever
 * versions the previous one left and checks against what the rollout recorded.
 */
const HOSTS = Array.from({ length: 10 }, (_, i) => `h${i + 1}`);
const FAST_GATE = { minHealthySeconds: 0.3, probeIntervalSeconds: 0.1, healthyDeadlineSeconds: 3 };

const service = uniqueServiceName('rsvc');

const { fleet } = useFleet({
  hostIds: HOSTS,
  service,
  labels: (_h, i) => `tier=${i < 5 ? 'a' : 'b'}`,
});

const operator = () => fleet.api.as(fleet.tokens.operator);
/** Every host's installed version, by host. */
const installedNow = async () => new Map(await Promise.all(HOSTS.map(async (h) => [h, await fleet.installed(h)] as const)));
const final = (r: any) => ['succeeded', 'aborted', 'rolled_back', 'rollback_failed', 'halted'].includes(r.state);

describe('rollouts over ten agents', () => {
  test('a rollout in batches of 3 after 1 canary updates every host in order and succeeds', async () => {
    const res = await operator().post('/v1/rollouts', { service, version: '2.0', batchSize: 3, canary: 1, autoPromote: true, ...FAST_GATE });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.hosts.map((h: any) => [h.hostId, h.batch]),
      HOSTS.map((h, i) => [h, i === 0 ? 0 : 1 + Math.floor((i - 1) / 3)]),
    );
    const done = await waitForRollout(fleet.api, res.body.id, final, 'rollout 2.0 finished');
    assert.equal(done.state, 'succeeded', done.message);
    for (const h of done.hosts) {
      assert.equal(h.state, 'healthy', `${h.hostId}: ${h.message}`);
      assert.equal(h.previousVersion, '1.0');
      assert.equal(h.currentVersion, '2.0');
      assert.equal(await fleet.installed(h.hostId), '2.0');
    }
    // No host of a batch started before every host of the batches before it was healthy.
    for (const h of done.hosts) {
      for (const e of done.hosts.filter((x: any) => x.batch < h.batch)) {
        assert.ok(Date.parse(e.finishedAt) <= Date.parse(h.startedAt), `${e.hostId} (batch ${e.batch}) done before ${h.hostId} (batch ${h.batch}) started`);
      }
    }
    const audit = await fleet.db.query<{ token_name: string; outcome: string; target: string }>(
      "SELECT token_name, outcome, target FROM smgr_audit WHERE action = 'rollout.start'",
    );
    assert.deepEqual(
      audit.map((a) => [a.token_name, a.outcome]),
      [['t-operator', 'ok']],
    );
    assert.match(audit[0]!.target, new RegExp(`^rollout:${res.body.id} service:${service} version:2\\.0$`));
  });

  test('a canary waits for promote; a second rollout of the service meanwhile gets 409; pause holds the next batch; resume finishes', async () => {
    const id = await startRollout(operator(), { service, version: '3.0', hosts: ['h1', 'h2', 'h3', 'h4', 'h5'], batchSize: 2, canary: 1, ...FAST_GATE });
    const waiting = await waitForRollout(fleet.api, id, (r) => r.state === 'awaiting_promotion', 'canary done');
    assert.deepEqual(
      waiting.hosts.map((h: any) => h.state),
      ['healthy', 'pending', 'pending', 'pending', 'pending'],
    );

    const second = await operator().post('/v1/rollouts', { service, version: '9.9', hosts: ['h9'] });
    assert.equal(second.status, 409);
    assert.equal(second.body.error, 'ROLLOUT_ACTIVE');
    assert.match(second.body.message, new RegExp(`active rollout: ${id} \\(awaiting_promotion\\)`));

    const viewerPromote = await fleet.api.as(fleet.tokens.viewer).post(`/v1/rollouts/${id}/promote`);
    assert.equal(viewerPromote.status, 403);

    const promoted = await operator().post(`/v1/rollouts/${id}/promote`);
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    const paused = await operator().post(`/v1/rollouts/${id}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.state, 'paused');
    // Batch 1 (h2, h3) finishes its steps; had the rollout not been paused, batch 2 would have
    // started in the same transition that recorded batch 1's last result.
    const held = await waitForRollout(fleet.api, id, (r) => r.hosts[1].state === 'healthy' && r.hosts[2].state === 'healthy', 'batch 1 healthy');
    assert.equal(held.state, 'paused');
    assert.deepEqual(
      held.hosts.slice(3).map((h: any) => h.state),
      ['pending', 'pending'],
    );
    assert.equal(await fleet.installed('h4'), '2.0');

    const resumed = await operator().post(`/v1/rollouts/${id}/resume`);
    assert.equal(resumed.status, 200);
    const done = await waitForRollout(fleet.api, id, final, 'rollout 3.0 finished');
    assert.equal(done.state, 'succeeded', done.message);
    for (const h of ['h1', 'h2', 'h3', 'h4', 'h5']) assert.equal(await fleet.installed(h), '3.0');
    assert.equal(await fleet.installed('h6'), '2.0', 'hosts outside the selector are untouched');
  });

  test('abort skips the hosts not started yet, and the aborted rollout cannot be resumed', async () => {
    const id = await startRollout(operator(), { service, version: '4.0', canary: 1, batchSize: 3, ...FAST_GATE });
    await waitForRollout(fleet.api, id, (r) => r.state === 'awaiting_promotion', 'canary done');
    const aborted = await operator().post(`/v1/rollouts/${id}/abort`);
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.state, 'aborted');
    assert.deepEqual(
      aborted.body.hosts.map((h: any) => h.state),
      ['healthy', ...Array(9).fill('skipped')],
    );
    assert.equal(await fleet.installed('h2'), '3.0');
    const again = await operator().post(`/v1/rollouts/${id}/resume`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'INVALID_TRANSITION');
  });

  test('a host failing its health gate halts the rollout, and rollback returns the updated hosts to their previous versions', async () => {
    await fleet.breakVersionOn('h4', '5.0');
    const before = await installedNow();
    const id = await startRollout(operator(), { service, version: '5.0', hosts: ['h2', 'h3', 'h4', 'h5', 'h6', 'h7'], batchSize: 2, ...FAST_GATE });
    const halted = await waitForRollout(
      fleet.api,
      id,
      (r) => r.state === 'halted' && !r.hosts.some((h: any) => ['checking', 'updating', 'verifying'].includes(h.state)),
      'halted',
    );
    const byHost = Object.fromEntries(halted.hosts.map((h: any) => [h.hostId, h]));
    assert.equal(byHost.h4.state, 'failed');
    assert.match(byHost.h4.message, /not healthy for 0\.3 s within the healthy deadline/);
    assert.match(halted.message, /h4/);
    assert.deepEqual([byHost.h6.state, byHost.h7.state], ['pending', 'pending'], 'no host started after the halt');
    assert.equal(await fleet.installed('h6'), before.get('h6'));

    const rb = await operator().post(`/v1/rollouts/${id}/rollback`);
    assert.equal(rb.status, 200, JSON.stringify(rb.body));
    const done = await waitForRollout(fleet.api, id, final, 'rolled back');
    assert.equal(done.state, 'rolled_back', done.message);
    for (const h of done.hosts) {
      if (['h2', 'h3', 'h4', 'h5'].includes(h.hostId)) {
        assert.equal(h.state, 'rolled_back', `${h.hostId}: ${h.message}`);
        assert.equal(await fleet.installed(h.hostId), before.get(h.hostId), `${h.hostId} back on ${before.get(h.hostId)}`);
      } else {
        assert.equal(h.state, 'skipped');
      }
    }
  });

  test('with auto-rollback a failing host halts the rollout and every updated host, the failing one too, returns to its previous version', async () => {
    await fleet.breakVersionOn('h6', '6.0');
    const before = await installedNow();
    const res = await operator().post('/v1/rollouts', {
      service,
      version: '6.0',
      labels: { tier: 'b' },
      hosts: ['h9', 'h8', 'h7', 'h6', 'h10', 'h1'],
      batchSize: '40%',
      canary: 1,
      autoPromote: true,
      autoRollback: true,
      ...FAST_GATE,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    // Labels narrow the list (h1 is tier a) and keep its order: h9 canary, then [h8, h7], then [h6, h10].
    assert.deepEqual(
      res.body.hosts.map((h: any) => [h.hostId, h.batch]),
      [
        ['h9', 0],
        ['h8', 1],
        ['h7', 1],
        ['h6', 2],
        ['h10', 2],
      ],
    );
    const done = await waitForRollout(
      fleet.api,
      res.body.id,
      (r) => ['rolled_back', 'rollback_failed', 'succeeded', 'halted'].includes(r.state),
      'auto rollback',
    );
    assert.equal(done.state, 'rolled_back', done.message);
    assert.match(done.message, /h6 .*rolling back automatically|host\(s\) back/);
    for (const h of done.hosts) {
      assert.equal(h.state, 'rolled_back', `${h.hostId}: ${h.message}`);
      assert.equal(await fleet.installed(h.hostId), before.get(h.hostId));
    }
    const events = await fleet.db.query<{ message: string }>(
      "SELECT message FROM smgr_events WHERE kind = 'rollout' AND job_id = ? AND host_id IS NULL ORDER BY id",
      [`ro-${res.body.id}`],
    );
    assert.deepEqual(
      events.map((e) => e.message.split(':')[0]),
      ['rollout created', 'rollout running -> rolling_back', 'rollout rolling_back -> rolled_back'],
    );
  });
});
