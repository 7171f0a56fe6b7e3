/**
 * Building blocks of the chaos, HA and bad-input tests: configs for several
 * controllers and agents on one test database and queue prefix, services
 * that count their own starts, and the "every alarm exactly once" check.
 */
import assert from 'node:assert/strict';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  createTestDatabase,
  freePort,
  makeTempDir,
  ManagedProcess,
  uniquePrefix,
  waitFor,
  type Cleanup,
  type MariaDbInstance,
  type NetHost,
  type RedisInstance,
  type TestDatabase,
} from '../harness/index.js';
import { AGENT_MAIN, CONTROLLER_MAIN, ROOT, ini, waitForLog } from './smgr.js';
import { findPids, killAll } from './procs.js';

export type { Section, Sections } from '../config.js';
import { mergeSections as merge, type Section, type Sections } from '../config.js';

export const COUNTING_SERVICE = join(ROOT, 'test/fixtures/counting-service.sh');
/** The repair queue's name (services/controller/src/repair/repair-queue.ts). */
const REPAIR_QUEUE = 'smgr-repairs';

/** One test's share of the servers: a database, a queue prefix, a temp dir. */
export interface ChaosEnv {
  mysql: MariaDbInstance;
  redis: RedisInstance;
  db: TestDatabase;
  prefix: string;
  dir: string;
}

export async function chaosEnv(cleanup: Cleanup, mysql: MariaDbInstance, redis: RedisInstance, label: string): Promise<ChaosEnv> {
  const tmp = await makeTempDir(label);
  cleanup.add(() => tmp.remove(), 'temp dir');
  const db = await createTestDatabase(mysql);
  cleanup.add(() => db.drop(), 'test database');
  return { mysql, redis, db, prefix: uniquePrefix(label), dir: tmp.path };
}

/**
 * Controller sections on the env's database and queue. `sockets`: reach
 * MariaDB and Redis through their UNIX sockets (a controller inside a
 * network namespace cannot reach the root namespace's loopback).
 */
export function controllerSections(env: ChaosEnv, opts: { id: string; grpcListen: string; sockets?: boolean; more?: Sections }): Sections {
  const { mysql, redis } = env;
  const base: Sections = {
    database: opts.sockets
      ? { socket: mysql.socketPath!, user: mysql.user, password: mysql.password, database: env.db.name }
      : { host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, database: env.db.name },
    monitor: { check_interval: 0.1, retry_delay: 2 },
    redis: { url: opts.sockets ? `unix://${redis.socketPath}` : redis.url, prefix: env.prefix },
    controller: { id: opts.id, grpc_listen: opts.grpcListen, api_listen: '127.0.0.1:0', heartbeat_interval: 1, agent_ttl: 5, lease_ttl: 3 },
    tls: { insecure: true },
    logging: { level: 'debug' },
  };
  return merge(base, opts.more);
}

/** Agent sections: `controllers` in the order the agent tries them. */
export function agentSections(env: ChaosEnv, opts: { hostId: string; controllers: string[]; services: Record<string, Section>; more?: Sections }): Sections {
  const base: Sections = {
    agent: { controller: opts.controllers.join(','), host_id: opts.hostId, state_dir: join(env.dir, `state-${opts.hostId}`), reconnect_max_delay: 1 },
    tls: { insecure: true },
    logging: { level: 'debug' },
  };
  for (const [name, s] of Object.entries(opts.services)) base[`process.${name}`] = s;
  return merge(base, opts.more);
}

export async function writeIni(env: ChaosEnv, file: string, sections: Sections): Promise<string> {
  const path = join(env.dir, file);
  await writeFile(path, ini(sections));
  return path;
}

/** Starts a daemon (compiled JS) in the root namespace, or inside `host`'s namespace. */
export function startDaemon(kind: 'controller' | 'agent', config: string, name: string, host?: NetHost): ManagedProcess {
  const args = [kind === 'controller' ? CONTROLLER_MAIN : AGENT_MAIN, '--config', config];
  return host ? host.spawn(process.execPath, args, { name }) : ManagedProcess.start(process.execPath, args, { name });
}

/**
 * A controller on the env (config `<id>.ini`, process named `id`), in the
 * root namespace or `host`'s; stopped by `cleanup`. Resolves once it logged
 * "controller running" (a record `running` accepts, e.g. its role).
 */
export async function startChaosController(
  cleanup: Cleanup,
  env: ChaosEnv,
  opts: Parameters<typeof controllerSections>[1] & { host?: NetHost; running?: (json: Record<string, unknown>) => boolean },
): Promise<ManagedProcess> {
  const { host, running, ...sections } = opts;
  const config = await writeIni(env, `${opts.id}.ini`, controllerSections(env, sections));
  const controller = startDaemon('controller', config, opts.id, host);
  cleanup.add(() => controller.stop(), `controller ${opts.id}`);
  await waitForLog(controller, 'controller running', 30_000, running);
  return controller;
}

/** An agent on the env (config `agent-<hostId>.ini`), in the root namespace or `host`'s; stopped by `cleanup`. */
export async function startChaosAgent(
  cleanup: Cleanup,
  env: ChaosEnv,
  opts: Parameters<typeof agentSections>[1] & { host?: NetHost },
): Promise<ManagedProcess> {
  const { host, ...sections } = opts;
  const config = await writeIni(env, `agent-${opts.hostId}.ini`, agentSections(env, sections));
  const agent = startDaemon('agent', config, `agent-${opts.hostId}`, host);
  cleanup.add(() => agent.stop(), `agent ${opts.hostId}`);
  return agent;
}

/**
 * A controller on `controllerConfig` and, once it runs, an agent on
 * `agentConfig`; resolves when the controller logged the agent connected.
 * Both are stopped by `cleanup`.
 */
export async function startControllerAndAgent(
  cleanup: Cleanup,
  controllerConfig: string,
  agentConfig: string,
  controllerName = 'controller',
): Promise<{ controller: ManagedProcess; agent: ManagedProcess }> {
  const controller = startDaemon('controller', controllerConfig, controllerName);
  cleanup.add(() => controller.stop(), controllerName);
  await waitForLog(controller, 'controller running', 30_000);
  const agent = startDaemon('agent', agentConfig, 'agent');
  cleanup.add(() => agent.stop(), 'agent');
  await waitForLog(controller, 'agent connected', 20_000);
  return { controller, agent };
}

/** A service binary that appends the PID of each of its starts to `<path>.starts`. */
export interface CountingService {
  name: string;
  path: string;
  /** PIDs of every start so far, oldest first. */
  starts(): Promise<number[]>;
}

/**
 * Installs `n` counting services named `<prefix><i>` (≤ 15 characters, the
 * kernel's comm) and registers cleanups that kill whatever runs under those
 * names: the agent starts them detached, so they outlive it.
 */
export async function countingServices(cleanup: Cleanup, env: ChaosEnv, prefix: string, n: number): Promise<CountingService[]> {
  const out: CountingService[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${prefix}${i}`.slice(0, 15);
    const path = join(env.dir, name);
    await copyFile(COUNTING_SERVICE, path);
    await chmod(path, 0o755);
    cleanup.add(() => killAll(name), `kill ${name}`);
    out.push({
      name,
      path,
      async starts() {
        try {
          return (await readFile(`${path}.starts`, 'utf8')).split('\n').filter(Boolean).map(Number);
        } catch {
          return [];
        }
      },
    });
  }
  return out;
}

/** Adds PROCESE + STATUS_PROCESS rows 1..n for the services, in order. */
export async function addProcesses(db: TestDatabase, names: string[], firstId = 1): Promise<number[]> {
  const ids = names.map((_, i) => firstId + i);
  if (names.length === 0) return ids;
  await db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES ?', [names.map((n, i) => [ids[i], n])]);
  await db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES ?', [ids.map((id) => [id, 0, 0, null])]);
  return ids;
}

/** What a legacy writer does: UPDATE STATUS_PROCESS SET alarma=1. */
export async function raiseAlarms(db: TestDatabase, ids: number[]): Promise<void> {
  await db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id IN (?)', [ids]);
}

/** Waits until every one of `ids` has alarma=0 (a MySQL outage just counts as "not yet"). */
export async function waitAllCleared(db: TestDatabase, ids: number[], timeoutMs: number, context?: () => string): Promise<void> {
  await waitFor(
    async () => {
      const rows = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE process_id IN (?) AND alarma = 0', [ids]);
      return Number(rows[0]?.n) === ids.length;
    },
    { timeoutMs, intervalMs: 250, message: `all ${ids.length} alarms cleared`, ...(context ? { context } : {}) },
  );
}

/**
 * The chaos tests' verdict, for alarms raised once each on services that were
 * not running: every service was started exactly once (one PID in its starts
 * file, and that process is the one running), every process has exactly one
 * incident, resolved, with exactly one recorded repair outcome, nothing is
 * open, and the queue holds no job waiting, active or delayed.
 */
export async function assertEachRepairedExactlyOnce(env: ChaosEnv, ids: number[], services: CountingService[]): Promise<void> {
  for (const [i, svc] of services.entries()) {
    const starts = await svc.starts();
    assert.equal(starts.length, 1, `${svc.name} (process ${ids[i]}) started exactly once, got PIDs ${starts.join(', ')}`);
    // Polled: bash forks before each `sleep`, and for an instant the child carries the service's name too.
    await waitFor(() => sameSet(findPids(svc.name), starts), {
      timeoutMs: 5_000,
      message: `${svc.name} runs as the process that was started (PID ${starts.join(', ')}; running: ${findPids(svc.name).join(', ')})`,
    });
  }
  const incidents = await env.db.query<{ process_id: number; n: number; resolved: number }>(
    `SELECT process_id, COUNT(*) AS n, SUM(state = 'resolved') AS resolved FROM smgr_incidents
      WHERE process_id IN (?) GROUP BY process_id`,
    [ids],
  );
  assert.equal(incidents.length, ids.length, 'every alarm opened an incident');
  for (const r of incidents) {
    assert.equal(Number(r.n), 1, `process ${r.process_id}: one incident`);
    assert.equal(Number(r.resolved), 1, `process ${r.process_id}: incident resolved`);
  }
  const outcomes = await env.db.query<{ incident_id: number; n: number; ok: number }>(
    `SELECT incident_id, COUNT(*) AS n, SUM(outcome = 'succeeded') AS ok FROM smgr_events
      WHERE kind = 'repair' AND process_id IN (?) GROUP BY incident_id`,
    [ids],
  );
  assert.equal(outcomes.length, ids.length, 'every incident has a recorded repair outcome');
  for (const r of outcomes) assert.deepEqual([Number(r.n), Number(r.ok)], [1, 1], `incident ${r.incident_id}: one outcome, succeeded`);
  const open = await env.db.query('SELECT id FROM smgr_incidents WHERE open_key IS NOT NULL');
  assert.deepEqual(open, [], 'no incident left open');
  await waitFor(
    async () => {
      const c = await queueCounts(env);
      return c.waiting + c.active + c.delayed + c.prioritized === 0 ? c : null;
    },
    { timeoutMs: 15_000, message: 'repair queue drained' },
  );
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;
type JobState = (typeof JOB_STATES)[number];

/** The repair queue's job counts, read with BullMQ from the test process. */
export async function queueCounts(env: ChaosEnv): Promise<Record<JobState, number>> {
  const connection = new Redis(env.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  connection.on('error', () => undefined);
  const queue = new Queue(REPAIR_QUEUE, { connection, prefix: env.prefix });
  try {
    const c = await queue.getJobCounts(...JOB_STATES);
    return Object.fromEntries(JOB_STATES.map((state) => [state, c[state] ?? 0])) as Record<JobState, number>;
  } finally {
    await queue.close().catch(() => undefined);
    connection.disconnect();
  }
}

/** The first pino record with this msg (and match) a process printed, or undefined. */
export function findLog(p: ManagedProcess, msg: string, match: (j: Record<string, unknown>) => boolean = () => true): Record<string, unknown> | undefined {
  return p.jsonLines().find((j) => j.msg === msg && match(j));
}

/** How many pino records with this msg a process printed. */
export function countLogs(p: ManagedProcess, msg: string, match: (j: Record<string, unknown>) => boolean = () => true): number {
  return p.jsonLines().filter((j) => j.msg === msg && match(j)).length;
}

/** What slowRepairScenario() sets up. */
export interface SlowRepairScenario {
  env: ChaosEnv;
  services: CountingService[];
  /** Process ids, one per service, in order. */
  ids: number[];
  grpcListen: string;
  controllerConfig: string;
  agentConfig: string;
  /** Service names and the tails of `procs`, for timeout messages. */
  context(procs: { tail(n?: number): string }[]): () => string;
}

export interface SlowRepairOptions {
  label: string;
  n: number;
  preRestartSeconds: number;
  /** The controller's gRPC port; default a free one. */
  grpcPort?: number;
  controllerMore?: Sections;
}

/**
 * One controller config and one agent config (host `chaos-h1`) managing `n`
 * counting services whose repair takes `preRestartSeconds` (a
 * pre_restart_command that sleeps), so a job is still running at the agent
 * when the test breaks something; and a PROCESE row per service. Nothing is
 * started.
 */
export async function slowRepairScenario(
  cleanup: Cleanup,
  deps: { mysql: MariaDbInstance; redis: RedisInstance },
  opts: SlowRepairOptions,
): Promise<SlowRepairScenario> {
  const env = await chaosEnv(cleanup, deps.mysql, deps.redis, opts.label);
  const tag = `${opts.label.slice(0, 3)}${Math.random().toString(16).slice(2, 6)}-`;
  const services = await countingServices(cleanup, env, tag, opts.n);
  const grpcListen = `127.0.0.1:${opts.grpcPort ?? (await freePort())}`;
  const controllerConfig = await writeIni(
    env,
    'controller.ini',
    controllerSections(env, { id: 'ctl-chaos', grpcListen, ...(opts.controllerMore ? { more: opts.controllerMore } : {}) }),
  );
  const agentConfig = await writeIni(
    env,
    'agent.ini',
    agentSections(env, {
      hostId: 'chaos-h1',
      controllers: [grpcListen],
      services: Object.fromEntries(services.map((s) => [s.name, slowService(s, opts.preRestartSeconds)])),
    }),
  );
  const ids = await addProcesses(
    env.db,
    services.map((s) => s.name),
  );
  return {
    env,
    services,
    ids,
    grpcListen,
    controllerConfig,
    agentConfig,
    context: (procs) => () => `${services.map((s) => s.name).join(', ')} in ${env.db.name}\n${procs.map((p) => p.tail(30)).join('\n')}`,
  };
}

/**
 * slowRepairScenario() under way: the controller (process `controllerName`)
 * and the agent run, every alarm is raised, and the agent has started a
 * repair job: the moment a chaos test breaks something. Both are stopped by
 * `cleanup`.
 */
export async function startSlowRepairs(
  cleanup: Cleanup,
  deps: { mysql: MariaDbInstance; redis: RedisInstance },
  opts: SlowRepairOptions & { controllerName?: string },
): Promise<SlowRepairScenario & { controller: ManagedProcess; agent: ManagedProcess }> {
  const sc = await slowRepairScenario(cleanup, deps, opts);
  const { controller, agent } = await startControllerAndAgent(cleanup, sc.controllerConfig, sc.agentConfig, opts.controllerName);
  await raiseAlarms(sc.env.db, sc.ids);
  await waitForLog(agent, 'job started', 20_000);
  return { ...sc, controller, agent };
}

/** A [process.NAME] section for a counting service whose repair sleeps first. */
export function slowService(s: CountingService, preRestartSeconds: number): Section {
  return {
    restart_strategy: 'process',
    pre_restart_command: `sleep ${preRestartSeconds}`,
    start_command: s.path,
    health_check_timeout: 10,
    max_attempts: 1,
  };
}

function sameSet(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
