/**
 * The controller–agent link tests' shared setup (bad-input-frames,
 * bad-input-names, mtls-identity, agent-link-errors): a test env with a CA,
 * a controller on it, and a real agent managing one counting service,
 * connected. Everything is stopped or removed by the given Cleanup.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initCa, issueCert } from '@smgr/shared/pki';
import { before } from 'node:test';
import { freePort, useCleanup, useServers, type Cleanup, type ManagedProcess, type NetHost, type Servers } from '@smgr/testing';
import { waitForLog } from '@smgr/testing/smgr';
import {
  addProcesses,
  agentSections,
  chaosEnv,
  controllerSections,
  countingServices,
  countLogs,
  raiseAlarms,
  startDaemon,
  waitAllCleared,
  writeIni,
  type ChaosEnv,
  type CountingService,
  type Section,
  type Sections,
} from '@smgr/testing/chaos';

/** A CA in `dir` and the certificates issued by it, by name. */
export interface LinkPki {
  dir: string;
  /** `dir/ca.pem`. */
  ca: string;
  cert(name: string): string;
  key(name: string): string;
  /** A `[tls]` section presenting `name`'s certificate (mutual TLS, not insecure). */
  tls(name: string): Sections['tls'];
}

/** The certificate files of a CA directory (see linkPki). */
export function pkiFiles(dir: string): LinkPki {
  const cert = (name: string) => join(dir, `${name}.pem`);
  const key = (name: string) => join(dir, `${name}.key`);
  const ca = join(dir, 'ca.pem');
  return { dir, ca, cert, key, tls: (name) => ({ insecure: false, ca, cert: cert(name), key: key(name) }) };
}

/**
 * A test env (database, queue prefix, temp dir) with a CA in `<dir>/pki`: a
 * controller certificate `controllerId` for 127.0.0.1 and localhost, and an
 * agent certificate for each of `agents`.
 */
export async function linkEnv(
  cleanup: Cleanup,
  servers: Servers,
  label: string,
  certs: { controllerId: string; agents: string[] },
): Promise<{ env: ChaosEnv; pki: LinkPki }> {
  await servers.ready;
  const env = await chaosEnv(cleanup, servers.mysql, servers.redis, label);
  const pki = pkiFiles(join(env.dir, 'pki'));
  await initCa(pki.dir);
  await issueCert(pki.dir, certs.controllerId, { role: 'controller', sans: ['127.0.0.1', 'localhost'] });
  for (const h of certs.agents) await issueCert(pki.dir, h, { role: 'agent' });
  return { env, pki };
}

/** A file's link env (see useLinkEnv); reading `env` or `pki` before `ready` resolved throws. */
export interface LinkEnvHolder {
  /** Cleanups run after all tests of the file, before the servers stop. */
  readonly files: Cleanup;
  readonly servers: Servers;
  /** Resolves once the env and its certificates exist (makes them if the file's before hook has not yet). */
  readonly ready: Promise<void>;
  readonly env: ChaosEnv;
  readonly pki: LinkPki;
}

/**
 * For a whole test file: the throwaway servers and, in a before hook, a
 * linkEnv on them. A file's own before hook awaits `ready` (node:test runs
 * file-level before hooks side by side).
 */
export function useLinkEnv(label: string, certs: { controllerId: string; agents: string[] }): LinkEnvHolder {
  const files = useCleanup();
  const servers = useServers();
  let made: { env: ChaosEnv; pki: LinkPki } | undefined;
  let making: Promise<void> | undefined;
  const ready = (): Promise<void> =>
    (making ??= linkEnv(files, servers, label, certs).then((m) => {
      made = m;
    }));
  before(() => ready());
  const get = () => {
    if (!made) throw new Error('useLinkEnv(): await ready in a before hook first');
    return made;
  };
  return {
    files,
    servers,
    get ready() {
      return ready();
    },
    get env() {
      return get().env;
    },
    get pki() {
      return get().pki;
    },
  };
}

/**
 * A controller `id` listening for agents on `grpcListen` (inside `host`'s
 * namespace when given), once it logged that it runs (a minute at most:
 * tests start several at once).
 */
export async function runningController(
  cleanup: Cleanup,
  env: ChaosEnv,
  opts: { id: string; grpcListen: string; name?: string; more?: Sections; sockets?: boolean; host?: NetHost },
): Promise<ManagedProcess> {
  const { name = 'controller', host, ...sections } = opts;
  const controller = startDaemon('controller', await writeIni(env, `${name}.ini`, controllerSections(env, sections)), name, host);
  cleanup.add(() => controller.stop(), name);
  await waitForLog(controller, 'controller running', 60_000);
  return controller;
}

/** What startLinkedPair() started. */
export interface LinkedPair {
  /** The controller's gRPC address, `127.0.0.1:PORT`. */
  address: string;
  controller: ManagedProcess;
  agent: ManagedProcess;
  hostId: string;
  /** The one service the agent manages (process strategy). */
  service: CountingService;
}

/**
 * A controller (`controllerId`) and an agent (`hostId`) managing one counting
 * service, with `tls` sections when given (else tls.insecure); resolves once
 * the controller logged that agent connected.
 */
export async function startLinkedPair(
  cleanup: Cleanup,
  env: ChaosEnv,
  opts: { controllerId: string; hostId: string; tls?: (name: string) => Sections['tls']; service?: Section },
): Promise<LinkedPair> {
  const address = `127.0.0.1:${await freePort()}`;
  const tlsOf = (name: string): Sections => (opts.tls ? { tls: opts.tls(name)! } : {});
  const controller = await runningController(cleanup, env, { id: opts.controllerId, grpcListen: address, more: tlsOf(opts.controllerId) });
  const [service] = await countingServices(cleanup, env, `lk${env.prefix.slice(-6)}-`, 1);
  const agentConfig = agentSections(env, {
    hostId: opts.hostId,
    controllers: [address],
    services: { [service!.name]: { restart_strategy: 'process', start_command: service!.path, ...opts.service } },
    more: tlsOf(opts.hostId),
  });
  const agent = startDaemon('agent', await writeIni(env, 'agent.ini', agentConfig), `agent-${opts.hostId}`);
  cleanup.add(() => agent.stop(), 'agent');
  await waitForLog(controller, 'agent connected', 20_000, (j) => j.hostId === opts.hostId);
  return { address, controller, agent, hostId: opts.hostId, service: service! };
}

/**
 * After whatever the test threw at the controller: it still runs, it never
 * dropped the pair's agent, and an alarm on the pair's service is repaired,
 * with one start.
 */
export async function assertPairStillRepairs(env: ChaosEnv, pair: LinkedPair): Promise<void> {
  const { controller, hostId, service } = pair;
  assert.equal(controller.exitStatus, undefined);
  assert.equal(
    countLogs(controller, 'agent disconnected', (j) => j.hostId === hostId),
    0,
    `the real agent ${hostId} was never dropped`,
  );
  const [id] = await addProcesses(env.db, [service.name]);
  await raiseAlarms(env.db, [id!]);
  await waitAllCleared(env.db, [id!], 30_000, () => controller.tail());
  assert.equal((await service.starts()).length, 1);
}
