import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor, useServers } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { fleetService, writeFleetHostFiles } from '@smgr/testing/operator-api';
import { startAgent, threeControllers } from '@smgr/testing/active-active';

const servers = useServers();

describe('active-active controllers: usage reports', () => {
  test('GET /v1/usage on any controller shows every host, whichever controller holds it', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, servers, 'aa-usage', { start: [0, 1] });
    const service = `aause${Math.random().toString(16).slice(2, 6)}`;
    const hostIds = ['aa-u1', 'aa-u2'];
    for (const [i, host] of hostIds.entries()) {
      const dir = join(env.dir, 'hosts', host);
      await writeFleetHostFiles(dir);
      await startAgent(
        cleanup,
        env,
        host,
        i === 0 ? [addrs[0]!, addrs[1]!] : [addrs[1]!, addrs[0]!],
        { [service]: { ...fleetService(dir), watch_interval: 1 } },
        'listed',
        { usage_report_interval: 1 },
      );
      await waitForLog(procs[i]!, 'agent connected', 60_000, (j) => j.hostId === host);
    }
    for (const i of [0, 1]) {
      const a = await api(i);
      const seen = await waitFor(
        async () => {
          const r = await a.get('/v1/usage');
          const hosts = (r.body.hosts as { hostId: string; services: { service: string }[] }[]) ?? [];
          return hostIds.every((h) => hosts.some((x) => x.hostId === h && x.services.some((s) => s.service === service))) ? hosts : null;
        },
        { timeoutMs: 30_000, message: `ctl-${i + 1} shows the usage of both hosts`, context: () => procs.map((p) => p?.tail(10)).join('\n') },
      );
      assert.deepEqual(
        seen.map((h) => h.hostId),
        hostIds,
      );
      // One host's usage, asked where it is not connected.
      const other = hostIds[1 - i]!;
      const one = await a.get(`/v1/hosts/${other}/usage`);
      assert.equal(one.status, 200);
      assert.equal(one.body.hostId, other);
      assert.ok(
        one.body.services.some((s: { service: string }) => s.service === service),
        JSON.stringify(one.body),
      );
    }

    // What a writer to Redis puts there is shown only in its known fields, and a report for another host is ignored.
    const r = new Redis(env.redis.url, { maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    cleanup.add(() => r.disconnect(), 'redis');
    const key = `${env.prefix}:smgr:fleet:usage:aa-u2`;
    const forged = JSON.parse((await r.get(key))!);
    forged.receivedAtMs = Date.now() + 3_600_000;
    forged.services[0].injected = '<script>';
    await r.set(key, JSON.stringify(forged), 'PX', 60_000);
    const shown = await (await api(0)).get('/v1/hosts/aa-u2/usage');
    assert.equal(shown.body.services[0].injected, undefined);
    await r.set(key, JSON.stringify({ ...forged, hostId: 'aa-u1' }), 'PX', 60_000);
    const refused = await (await api(0)).get('/v1/hosts/aa-u2/usage');
    assert.equal(refused.body.hostId, 'aa-u2');
  });
});
