import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useServers } from '@smgr/testing';
import { countLogs } from '@smgr/testing/chaos';
import { fleetService, startRollout, waitForRollout, writeFleetHostFiles } from '@smgr/testing/operator-api';
import { startAgent, threeControllers, waitAllConnected } from '@smgr/testing/active-active';

const servers = useServers();

describe('active-active controllers: rollouts from any controller', () => {
  test('a rollout started and commanded through a controller that does not lead: stored there, driven by the leader', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, servers, 'aa-anyroll', { start: [0, 1] });
    const [c1, c2] = [procs[0]!, procs[1]!];
    const service = `aaany${Math.random().toString(16).slice(2, 6)}`;
    const hostIds = ['aa-y1', 'aa-y2'];
    for (const [i, host] of hostIds.entries()) {
      const dir = join(env.dir, 'hosts', host);
      await writeFleetHostFiles(dir);
      // One host on each controller.
      await startAgent(cleanup, env, host, i === 0 ? [addrs[0]!, addrs[1]!] : [addrs[1]!, addrs[0]!], { [service]: fleetService(dir) });
    }
    const a2 = await api(1);
    await waitAllConnected(a2, hostIds);
    assert.ok(
      c2.jsonLines().some((j) => j.msg === 'controller running' && j.role === 'standby'),
      'c2 does not lead',
    );
    const id = await startRollout(a2, { service, version: '2.0', batchSize: 1, minHealthySeconds: 2, probeIntervalSeconds: 0.1, healthyDeadlineSeconds: 10 });

    // Commands asked on c2 are applied by the leader's runner, and c2 answers with the outcome.
    const paused = await a2.post(`/v1/rollouts/${id}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.state, 'paused');
    const again = await a2.post(`/v1/rollouts/${id}/pause`);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error, 'INVALID_TRANSITION');
    const resumed = await a2.post(`/v1/rollouts/${id}/resume`);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.state, 'running');
    assert.equal(
      countLogs(c1, 'rollout command asked on another controller applied', (j) => j.rolloutId === id),
      3,
    );
    const done = await waitForRollout(a2, id, (r) => !['running', 'paused'].includes(r.state), 'rollout finished', 60_000);
    assert.equal(done.state, 'succeeded', `${done.message}\n${c1.tail(30)}`);
    assert.ok(countLogs(c1, 'rollouts created on another controller picked up', (j) => (j.rollouts as number[]).includes(id)) === 1, 'the leader picked it up');
    assert.equal(countLogs(c2, 'rollout driving'), 0, 'c2 drove nothing');
    for (const h of hostIds) {
      const installs = (await readFile(join(env.dir, 'hosts', h, 'installs'), 'utf8')).trim().split('\n');
      assert.deepEqual(installs, ['2.0'], `${h} installed 2.0 exactly once`);
    }
  });
});
