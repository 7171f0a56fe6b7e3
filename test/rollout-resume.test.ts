import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useServers, useCleanup } from '@smgr/testing';
import { uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { startFleet, startRollout, waitForRollout } from '@smgr/testing/operator-api';

const servers = useServers();

describe('rollout state survives the controller', () => {
  test('a controller killed while an update runs is replaced by one that resumes the rollout without installing anything twice', async (t) => {
    const cleanup = useCleanup(t);
    const service = uniqueServiceName('rres');
    const hostIds = ['r1', 'r2', 'r3'];
    const fleet = await startFleet(cleanup, servers, { hostIds, service });
    // r1's install takes a second: the controller dies while it runs.
    await writeFile(join(fleet.hosts.get('r1')!.dir, 'slow'), '');

    const id = await startRollout(fleet.api.as(fleet.tokens.operator), {
      service,
      version: '2.0',
      batchSize: 1,
      minHealthySeconds: 0.3,
      probeIntervalSeconds: 0.1,
      healthyDeadlineSeconds: 5,
    });
    await waitForRollout(fleet.api, id, (r) => r.hosts[0].state === 'updating', 'r1 updating');

    await fleet.restartController({ signal: 'SIGKILL' });
    await waitForLog(fleet.controller, 'active rollouts resumed', 30_000);

    const done = await waitForRollout(fleet.api, id, (r) => !['running', 'paused'].includes(r.state), 'rollout finished after the restart');
    assert.equal(done.state, 'succeeded', done.message);
    for (const h of hostIds) {
      assert.equal(await fleet.installed(h), '2.0');
      const installs = (await readFile(join(fleet.hosts.get(h)!.dir, 'installs'), 'utf8')).trim().split('\n');
      assert.deepEqual(installs, ['2.0'], `${h} installed 2.0 exactly once`);
    }
    assert.equal(done.hosts[0].previousVersion, '1.0');
  });

  test('a rollout waiting for promotion is still waiting after a restart and can be promoted there', async (t) => {
    const cleanup = useCleanup(t);
    const service = uniqueServiceName('rres');
    const fleet = await startFleet(cleanup, servers, { hostIds: ['p1', 'p2'], service });
    const id = await startRollout(fleet.api.as(fleet.tokens.operator), {
      service,
      version: '2.0',
      canary: 1,
      minHealthySeconds: 0.2,
      probeIntervalSeconds: 0.1,
    });
    await waitForRollout(fleet.api, id, (r) => r.state === 'awaiting_promotion', 'canary done');
    await fleet.restartController({ signal: 'SIGTERM' });
    const after = await fleet.api.get(`/v1/rollouts/${id}`);
    assert.equal(after.body.state, 'awaiting_promotion');
    const promoted = await fleet.api.as(fleet.tokens.operator).post(`/v1/rollouts/${id}/promote`);
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    const done = await waitForRollout(fleet.api, id, (r) => r.state === 'succeeded', 'promoted rollout succeeded');
    assert.deepEqual(
      done.hosts.map((h: any) => h.state),
      ['healthy', 'healthy'],
    );
  });
});
