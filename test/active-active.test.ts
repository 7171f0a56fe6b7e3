import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startMariaDb, startRedis, useCleanup, waitFor, type Cleanup, type ManagedProcess, type MariaDbInstance, type RedisInstance } from './harness/index.js';
import { waitForLog } from './support/smgr.js';
import {
  addProcesses,
  agentSections,
  assertEachRepairedExactlyOnce,
  chaosEnv,
  controllerSections,
  countingServices,
  countLogs,
  raiseAlarms,
  slowService,
  startDaemon,
  waitAllCleared,
  writeIni,
  type ChaosEnv,
  type Sections,
} from './support/chaos.js';
import { ApiClient, apiPortOf, createTokenViaController, fleetService, waitForRollout } from './support/operator-api.js';

let mysql: MariaDbInstance;
let redis: RedisInstance;
before(async () => {
  [mysql, redis] = await Promise.all([startMariaDb(), startRedis()]);
});
after(async () => {
  await Promise.allSettled([mysql?.stop(), redis?.stop()]);
});

/** Three controllers on one database and queue prefix, each with its API; `start` says which run at first. */
async function threeControllers(t: { after(fn: () => unknown): void }, label: string, opts: { start?: number[]; more?: Sections } = {}) {
  const cleanup = useCleanup(t);
  const env = await chaosEnv(cleanup, mysql, redis, label);
  const addrs = await Promise.all([0, 1, 2].map(async () => `127.0.0.1:${await freePort()}`));
  const configs = await Promise.all(
    addrs.map((addr, i) =>
      writeIni(
        env,
        `ctl-${i + 1}.ini`,
        controllerSections(env, {
          id: `ctl-${i + 1}`,
          grpcListen: addr,
          more: { api: { enabled: true, insecure: true }, ...opts.more, controller: { rebalance_rate: 1, ...opts.more?.controller } },
        }),
      ),
    ),
  );
  const procs: (ManagedProcess | undefined)[] = [undefined, undefined, undefined];
  const start = async (i: number) => {
    const p = startDaemon('controller', configs[i]!, `ctl-${i + 1}`);
    procs[i] = p;
    cleanup.add(() => p.stop(), `controller ${i + 1}`);
    await waitForLog(p, 'controller running', 30_000);
    return p;
  };
  // One at a time: the first one started leads.
  for (const i of opts.start ?? [0, 1, 2]) await start(i);
  const api = async (i: number) => new ApiClient(`http://127.0.0.1:${await apiPortOf(procs[i]!)}`, await createTokenViaController(configs[i]!, `admin-${i}-${Date.now()}`, 'admin'));
  return { cleanup, env, addrs, configs, procs, start, api };
}

/** A real agent: `controllers` in the order it tries them (controller_order = listed), or spread. */
async function startAgent(
  cleanup: Cleanup,
  env: ChaosEnv,
  hostId: string,
  controllers: string[],
  services: Sections,
  order: 'listed' | 'spread' = 'listed',
): Promise<ManagedProcess> {
  const cfg = await writeIni(env, `agent-${hostId}.ini`, agentSections(env, { hostId, controllers, services, more: { agent: { controller_order: order } } }));
  const agent = startDaemon('agent', cfg, `agent-${hostId}`);
  cleanup.add(() => agent.stop(), `agent ${hostId}`);
  return agent;
}

describe('active-active controllers: every controller serves agents, the leader repairs through them', () => {
  test('repairs and operations are delivered by the controller that holds the host, and any API answers for the whole fleet', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, 'aa-route');
    const [c1, c2, c3] = procs as ManagedProcess[];
    assert.ok(c1.jsonLines().some((j) => j.msg === 'controller running' && j.role === 'active'), 'the first controller leads');
    const services = await countingServices(cleanup, env, `aar${Math.random().toString(16).slice(2, 6)}-`, 3);
    const hosts = ['aa-h1', 'aa-h2', 'aa-h3'];
    const agents: ManagedProcess[] = [];
    for (const [i, host] of hosts.entries()) {
      // Each host's first choice is a different controller.
      const order = [addrs[i]!, ...addrs.filter((_, j) => j !== i)];
      agents.push(await startAgent(cleanup, env, host, order, { [services[i]!.name]: slowService(services[i]!, 0.2) }));
      await waitForLog(procs[i]!, "agent connected", 60_000, (j) => j.hostId === host);
    }
    const ids = await addProcesses(env.db, services.map((s) => s.name));
    await raiseAlarms(env.db, ids);
    await waitAllCleared(env.db, ids, 60_000, () => procs.map((p) => p!.tail(20)).join('\n'));
    await assertEachRepairedExactlyOnce(env, ids, services);

    // The leader ran every repair; h2's and h3's went through the controllers holding them.
    assert.equal(countLogs(c1, 'repair succeeded; alarm cleared'), 3);
    assert.equal(countLogs(c2, 'delivering a job for another controller', (j) => j.hostId === 'aa-h2' && String(j.jobId).startsWith('inc-')), 1);
    assert.equal(countLogs(c3, 'delivering a job for another controller', (j) => j.hostId === 'aa-h3' && String(j.jobId).startsWith('inc-')), 1);
    for (const [i, a] of agents.entries()) assert.equal(countLogs(a, 'connected to controller'), 1, `${hosts[i]} never moved`);

    // An operation asked on c3 for a host on c2 goes through c2.
    const a3 = await api(2);
    const listed = await a3.get('/v1/hosts?connected=true');
    assert.deepEqual((listed.body.hosts as { hostId: string }[]).map((h) => h.hostId).sort(), hosts, 'c3 sees every connected host');
    const op = await a3.post('/v1/operations', { operation: 'status', service: services[1]!.name, hosts: ['aa-h2'] });
    assert.equal(op.status, 202, JSON.stringify(op.body));
    const done = await waitFor(
      async () => {
        const r = await a3.get(`/v1/operations/${op.body.id}`);
        return r.body.state !== 'running' ? r.body : null;
      },
      { timeoutMs: 30_000, message: 'operation finished' },
    );
    assert.equal(done.hosts[0].state, 'succeeded', JSON.stringify(done));
    assert.equal(countLogs(c2, 'delivering a job for another controller', (j) => j.hostId === 'aa-h2' && String(j.jobId).startsWith(op.body.id)), 1);
  });

  test('the controller holding a host is SIGKILLed mid-repair: the agent moves, the repair follows it, the service starts exactly once', async (t) => {
    const { cleanup, env, addrs, procs } = await threeControllers(t, 'aa-kill');
    const [c1, c2, c3] = procs as ManagedProcess[];
    const services = await countingServices(cleanup, env, `aak${Math.random().toString(16).slice(2, 6)}-`, 2);
    // Held by c2 (not the leader); when c2 dies, c3 is next.
    const agent = await startAgent(cleanup, env, 'aa-k1', [addrs[1]!, addrs[2]!, addrs[0]!], Object.fromEntries(services.map((s) => [s.name, slowService(s, 3)])));
    await waitForLog(c2, "agent connected", 60_000, (j) => j.hostId === 'aa-k1');
    const ids = await addProcesses(env.db, services.map((s) => s.name));
    await raiseAlarms(env.db, ids);
    await waitForLog(agent, "job started", 60_000);
    await c2.kill9();

    await waitForLog(c3, 'agent connected', 30_000, (j) => j.hostId === 'aa-k1');
    await waitAllCleared(env.db, ids, 60_000, () => `${c1.tail(30)}\n${c3.tail(30)}\n${agent.tail(30)}`);
    await assertEachRepairedExactlyOnce(env, ids, services);
    assert.ok(countLogs(c3, 'delivering a job for another controller', (j) => j.hostId === 'aa-k1') >= 1, 'c3 delivered the repairs after the move');
    assert.ok(countLogs(c1, 'job follows its host to another controller') >= 1, 'the leader re-routed the jobs in flight');
  });

  test('a controller that joins takes its share of agents gradually, a bounded number per second', async (t) => {
    const { cleanup, env, addrs, procs, start } = await threeControllers(t, 'aa-join', { start: [0, 1] });
    const [c1, c2] = procs as ManagedProcess[];
    // Three hosts prefer c3 (down): they wait on c1. One host each prefers c1 and c2.
    const plan: [string, number[]][] = [
      ['aa-j1', [2, 0, 1]],
      ['aa-j2', [2, 0, 1]],
      ['aa-j3', [2, 0, 1]],
      ['aa-j4', [0, 1, 2]],
      ['aa-j5', [1, 0, 2]],
    ];
    const agents: ManagedProcess[] = [];
    for (const [host, order] of plan) agents.push(await startAgent(cleanup, env, host, order.map((i) => addrs[i]!), {}));
    for (const [host] of plan) {
      await waitFor(() => procs.some((p) => p && countLogs(p, 'agent connected', (j) => j.hostId === host) > 0), { timeoutMs: 60_000, message: `${host} connected`, context: () => agents.map((a) => a.tail(15)).join('\n') });
    }
    const c3 = await start(2);
    for (const host of ['aa-j1', 'aa-j2', 'aa-j3']) await waitForLog(c3, 'agent connected', 60_000, (j) => j.hostId === host);
    // Moves came in steps of at most rebalance_rate (1) per second, and only displaced agents moved.
    const steps = [c1, c2].flatMap((c) => c.jsonLines().filter((j) => j.msg === 'asked agents to move to rebalance the fleet'));
    assert.ok(steps.length >= 1, 'some controller asked agents to move');
    for (const s of steps) assert.ok(Number(s.asked) <= 1, `one agent per step, got ${JSON.stringify(s)}`);
    const moved = new Set(steps.flatMap((s) => s.hosts as string[]));
    for (const h of moved) assert.ok(['aa-j1', 'aa-j2', 'aa-j3'].includes(h), `${h} was on its first choice and was moved`);
    assert.equal(countLogs(c3, 'agent connected', (j) => j.hostId === 'aa-j4' || j.hostId === 'aa-j5'), 0, 'hosts on their first choice stayed');
  });

  test('the leader is killed mid-rollout: another controller takes the lease and resumes the rollout, installing nothing twice', async (t) => {
    const { cleanup, env, addrs, procs, api } = await threeControllers(t, 'aa-roll', { more: { controller: { lease_ttl: 2 } } });
    const c1 = procs[0]!;
    const service = `aarol${Math.random().toString(16).slice(2, 6)}`;
    const hostIds = ['aa-r1', 'aa-r2', 'aa-r3'];
    for (const [i, host] of hostIds.entries()) {
      const dir = join(env.dir, 'hosts', host);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'version'), '1.0\n');
      await writeFile(join(dir, 'running'), '');
      if (i === 0) await writeFile(join(dir, 'slow'), '');
      // Spread over the two controllers that stay: the killed leader holds no agent.
      await startAgent(cleanup, env, host, i % 2 === 0 ? [addrs[1]!, addrs[2]!] : [addrs[2]!, addrs[1]!], { [service]: fleetService(dir) });
    }
    const a2 = await api(1);
    await waitFor(
      async () => {
        const r = await a2.get('/v1/hosts?connected=true');
        const up = new Set((r.body.hosts as { hostId: string; claims?: { state: string }[] }[]).filter((h) => !(h.claims ?? []).some((c) => c.state === 'undecided')).map((h) => h.hostId));
        return hostIds.every((h) => up.has(h));
      },
      { timeoutMs: 30_000, message: 'every host connected' },
    );
    // Rollouts are driven by the leader (a standby's API answers 503 NOT_ACTIVE to a new one).
    const a1 = await api(0);
    const res = await a1.post('/v1/rollouts', { service, version: '2.0', batchSize: 1, minHealthySeconds: 0.3, probeIntervalSeconds: 0.1, healthyDeadlineSeconds: 10 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as number;
    await waitForRollout(a2, id, (r) => r.hosts[0].state === 'updating', 'aa-r1 updating');
    await c1.kill9();
    const resumed = await waitFor(() => [procs[1]!, procs[2]!].find((p) => countLogs(p, 'active rollouts resumed') > 0), { timeoutMs: 30_000, message: 'a controller resumed the rollout' });
    const done = await waitForRollout(a2, id, (r) => !['running', 'paused'].includes(r.state), 'rollout finished after the takeover', 90_000);
    assert.equal(done.state, 'succeeded', `${done.message}\n${resumed.tail(30)}`);
    for (const h of hostIds) {
      const installs = (await readFile(join(env.dir, 'hosts', h, 'installs'), 'utf8')).trim().split('\n');
      assert.deepEqual(installs, ['2.0'], `${h} installed 2.0 exactly once`);
    }
  });
});
