/**
 * Delivery jobs sit in Redis on the queue of the controller holding the
 * host's stream. Anyone able to write to Redis could add one there: the
 * delivering controller sends an agent only jobs signed with the fleet
 * secret (smgr_fleet_secrets, in MySQL), bound to that controller's queue.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Operation } from '@smgr/shared';
import { waitFor, useServers } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import { countingServices, countLogs, findLog, slowService } from '@smgr/testing/chaos';
import { waitForOperation } from '@smgr/testing/operator-api';
import { startAgent, threeControllers } from '@smgr/testing/active-active';

const servers = useServers();

/** Waits until a delivery job has failed; returns its reason. */
async function failedReason(queue: Queue, id: string): Promise<string> {
  return waitFor(
    async () => {
      const job = await queue.getJob(id);
      return job && (await job.getState()) === 'failed' ? job.failedReason : null;
    },
    { timeoutMs: 20_000, message: `delivery ${id} failed` },
  );
}

describe('delivery jobs are signed: a job written straight into Redis reaches no agent', () => {
  test('a forged job and a tampered signed job are refused; a signed one is delivered', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, servers, 'aa-sign', { start: [0, 1] });
    const [c1, c2] = [procs[0]!, procs[1]!];
    const services = await countingServices(cleanup, env, `aas${Math.random().toString(16).slice(2, 6)}-`, 2);
    // Held by c2, not the leader.
    const agent = await startAgent(cleanup, env, 'aa-s1', [addrs[1]!, addrs[0]!], {
      [services[0]!.name]: slowService(services[0]!, 0),
      [services[1]!.name]: slowService(services[1]!, 0),
    });
    await waitForLog(c2, 'agent connected', 60_000, (j) => j.hostId === 'aa-s1');

    // A signed delivery: an operation asked on c1 for the host on c2.
    const a1 = await api(0);
    const op = await a1.post('/v1/operations', { operation: 'status', service: services[0]!.name, hosts: ['aa-s1'] });
    assert.equal(op.status, 202, JSON.stringify(op.body));
    const done = await waitForOperation(a1, op.body.id);
    // Delivered and run (the service is down, so status reports it failed).
    assert.ok(['succeeded', 'failed'].includes(done.hosts[0].state), JSON.stringify(done));
    assert.equal(
      countLogs(c2, 'delivering a job for another controller', (j) => j.hostId === 'aa-s1'),
      1,
    );
    const jobsSeen = countLogs(agent, 'job started');
    assert.equal(jobsSeen, 1);

    const connection = new Redis(env.redis.url, { maxRetriesPerRequest: 1 });
    connection.on('error', () => undefined);
    const q2 = new Queue('smgr-deliver.ctl-2', { connection, prefix: env.prefix });
    const q1 = new Queue('smgr-deliver.ctl-1', { connection, prefix: env.prefix });
    cleanup.add(async () => {
      await Promise.allSettled([q1.close(), q2.close()]);
      connection.disconnect();
    }, 'test queues');

    // The signed job, still kept on c2's queue after it completed.
    const signed = ((await q2.getJobs(['completed'])) as Job[]).find((j) => j.data.hostId === 'aa-s1');
    assert.ok(signed, 'the signed delivery is on c2 queue');
    assert.match(String(signed.data.sig), /^[0-9a-f]{64}$/, 'it carries an HMAC-SHA-256');

    // 1. Forged: what someone with write access to Redis would add.
    const soon = Date.now() + 30_000;
    const forged = {
      hostId: 'aa-s1',
      spec: { jobId: 'forged-1', operation: Operation.RESTART, service: services[1]!.name, version: '', deadlineMs: 10_000 },
      notAfter: soon,
      from: 'ctl-1',
    };
    await q2.add('deliver', forged, { jobId: 'forged-1.d0', attempts: 1 });
    await q2.add('deliver', { ...forged, spec: { ...forged.spec, jobId: 'forged-2' }, sig: 'ab'.repeat(32) }, { jobId: 'forged-2.d0', attempts: 1 });
    // 2. Tampered: a valid signature over the signed job, sent to restart another service.
    const tampered = {
      ...signed.data,
      spec: { ...signed.data.spec, jobId: 'tampered-1', operation: Operation.RESTART, service: services[1]!.name },
      notAfter: soon,
    };
    await q2.add('deliver', tampered, { jobId: 'tampered-1.d0', attempts: 1 });
    // 3. The signed job unchanged (but for its deadline), moved to c1's queue: signed for c2, not c1.
    await q1.add('deliver', { ...signed.data, notAfter: soon }, { jobId: 'moved-1.d0', attempts: 1 });

    for (const [q, id] of [
      [q2, 'forged-1.d0'],
      [q2, 'forged-2.d0'],
      [q2, 'tampered-1.d0'],
      [q1, 'moved-1.d0'],
    ] as const) {
      assert.match(await failedReason(q, id), /^BAD_SIGNATURE: /, id);
    }
    assert.ok(
      findLog(c2, 'delivery with a missing or wrong signature refused; nothing sent', (j) => j.jobId === 'tampered-1.d0'),
      'c2 logs the refusal',
    );
    assert.ok(
      findLog(c1, 'delivery with a missing or wrong signature refused; nothing sent', (j) => j.jobId === 'moved-1.d0'),
      'c1 logs the refusal',
    );
    const metrics = await (await api(1)).get('/metrics');
    assert.match(String(metrics.body), /smgr_deliveries_refused_total\{reason="bad_signature"\} 3/);

    // The agent received nothing more, and no service was restarted.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(countLogs(agent, 'job started'), jobsSeen, 'the agent ran no refused job');
    assert.equal((await services[1]!.starts()).length, 0, 'the targeted service was never started');
    const logs = `${c1.tail(200)}\n${c2.tail(200)}`;
    const [secret] = await env.db.query<{ hex: string }>("SELECT HEX(secret) AS hex FROM smgr_fleet_secrets WHERE name = 'delivery'");
    assert.ok(secret && secret.hex.length === 64, 'one 32-byte secret in MySQL');
    assert.ok(!logs.toUpperCase().includes(secret.hex) && !logs.includes(secret.hex.toLowerCase()), 'the secret is never logged');
  });
});
