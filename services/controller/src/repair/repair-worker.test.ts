import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { createLogger, type JobRequest, type Logger } from '@smgr/shared';
import { useServers, useTestDatabase, uniquePrefix, useCleanup, waitFor } from '@smgr/testing';
import { SimAgents } from '@smgr/testing/sim-agents';
import { migrate } from '../db/migrator.js';
import { IncidentStore } from './incident-store.js';
import { OutcomeStore } from './outcome-store.js';
import { AgentStore } from '../agents/agent-store.js';
import { createRedisConnection } from '../db/redis-connection.js';
import { AgentRegistry } from '../agents/agent-registry.js';
import { AgentGateway } from '../agents/agent-gateway.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { RepairWorker } from './repair-worker.js';
import { createRepairQueue, enqueueRepairs } from './repair-queue.js';

let log: Logger;

const servers = useServers();
before(async () => {
  log = await createLogger({
    name: 'test',
    level: process.env.T_DEBUG ? 'debug' : 'silent',
    destination: process.env.T_DEBUG ? process.stdout : new Writable({ write: (_c, _e, done) => done() }),
    maxLogSizeBytes: 1 << 20,
    logFilesToKeep: 1,
  });
});

test("a repair job rewritten in Redis to another host and service restarts what its incident row says, on the incident's host", async (t) => {
  const cleanup = useCleanup(t);
  const db = await useTestDatabase(t, servers.mysql);
  const pool = db.pool as never;
  await migrate(pool, log);
  const prefix = uniquePrefix('rw');
  const gateway = new AgentGateway({
    controllerId: 'ctl-rw',
    heartbeatIntervalMs: 1_000,
    agentTtlMs: 5_000,
    credentials: grpc.ServerCredentials.createInsecure(),
    requirePeerIdentity: false,
    registry: new AgentRegistry(),
    claims: { declared: () => undefined },
    store: new AgentStore(pool),
    log,
  });
  const port = await gateway.start('127.0.0.1:0');
  cleanup.add(() => gateway.stop(), 'gateway');
  const jobs: { hostId: string; req: JobRequest }[] = [];
  const sims = new SimAgents({
    address: `127.0.0.1:${port}`,
    credentials: grpc.credentials.createInsecure(),
    hostIds: ['web1', 'evil'],
    services: (h) => (h === 'web1' ? ['nginx'] : ['nginx', 'payroll']),
    reconnect: false,
    onJob: (hostId, req) => {
      jobs.push({ hostId, req });
      return { jobId: req.jobId, outcome: 1, service: req.service, operation: req.operation, message: 'ok' };
    },
  });
  cleanup.add(() => sims.stop(), 'sim agents');
  sims.start();
  await waitFor(() => gateway.connectedCount() === 2, { timeoutMs: 10_000, message: 'both agents connected' });

  await db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'nginx@web1')");
  await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 1, 0, NULL)');
  await db.exec(
    `INSERT INTO smgr_incidents (process_id, process_name, service, host_id, state, open_key, attempts, job_id, opened_at)
     VALUES (1, 'nginx@web1', 'nginx', 'web1', 'dispatched', 1, 1, 'repair-1-1', NOW(3))`,
  );
  const [{ id }] = (await db.query<{ id: number }>('SELECT id FROM smgr_incidents')) as [{ id: number }];
  const queueConn = createRedisConnection(servers.redis.url);
  cleanup.add(() => queueConn.quit(), 'queue redis');
  const queue = createRepairQueue(queueConn, prefix, () => undefined);
  cleanup.add(() => queue.close(), 'queue');
  // What someone with write access to Redis puts there: the right job id, another host and service.
  await enqueueRepairs(queue, [
    { jobId: 'repair-1-1', data: { incidentId: id, processId: 1, processName: 'nginx@web1', service: 'payroll', hostId: 'evil', attempt: 1 } },
  ]);

  const workerConn = createRedisConnection(servers.redis.url, { maxRetriesPerRequest: null });
  cleanup.add(() => workerConn.quit(), 'worker redis');
  const worker = new RepairWorker({
    connection: workerConn,
    prefix,
    store: new IncidentStore(pool),
    outcomes: new OutcomeStore(pool),
    jobs: gateway.jobs,
    breaker: new CircuitBreaker({ maxFailures: 3, resetMs: 60_000 }),
    jobTimeoutMs: 10_000,
    retryDelayMs: 1_000,
    log,
  });
  worker.start();
  cleanup.add(() => worker.stop(), 'worker');
  await waitFor(async () => (await db.query<{ alarma: number }>('SELECT alarma FROM STATUS_PROCESS WHERE process_id = 1'))[0]!.alarma === 0, {
    timeoutMs: 15_000,
    message: 'alarm cleared by the repair',
  });
  assert.deepEqual(
    jobs.map((j) => [j.hostId, j.req.service]),
    [['web1', 'nginx']],
  );
});
