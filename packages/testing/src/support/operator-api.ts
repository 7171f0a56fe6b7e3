/**
 * The operator surface for cross-service tests: an HTTP API client, tokens
 * made the way an operator bootstraps them (`smgr-controller token create`),
 * and a fleet of real agents managing a file-backed versioned service, for
 * rollout tests.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createTestDatabase,
  freePort,
  makeTempDir,
  uniquePrefix,
  waitFor,
  type Cleanup,
  type ManagedProcess,
  type MariaDbInstance,
  type RedisInstance,
  type TestDatabase,
} from '../harness/index.js';
import { CONTROLLER_MAIN, ini, startAgent, startController, waitForLog } from './smgr.js';

const execFileP = promisify(execFile);

export type Role = 'viewer' | 'operator' | 'admin';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Plain-HTTP JSON client of one controller's API. */
export class ApiClient {
  constructor(
    readonly url: string,
    readonly token: string | undefined,
  ) {}

  /** The same API as another token (undefined: none). */
  as(token: string | undefined): ApiClient {
    return new ApiClient(this.url, token);
  }

  async call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.token !== undefined) h.authorization = `Bearer ${this.token}`;
    if (body !== undefined) h['content-type'] ??= 'application/json';
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: h,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.call<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown) {
    return this.call<T>('POST', path, body ?? {});
  }
}

/** The API port a controller logged ("api listening"). */
export async function apiPortOf(controller: ManagedProcess, timeoutMs = 30_000): Promise<number> {
  const line = await controller.waitForLine((_l, j) => j?.msg === 'api listening', timeoutMs, 'api listening');
  return Number(line.json?.port);
}

/** `smgr-controller --config FILE token create NAME --role ROLE`: the secret it prints. */
export async function createTokenViaController(configPath: string, name: string, role: Role): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [CONTROLLER_MAIN, '--config', configPath, 'token', 'create', name, '--role', role]);
  return stdout.trim();
}

/** Settings of the controller's API for tests: plain HTTP on a port the kernel picks. */
export const TEST_API_SETTINGS = {
  api: { enabled: true, insecure: true },
  controller: { api_listen: '127.0.0.1:0' },
} as const;

/** The file-backed service every fleet host runs: see `fleetService`. */
export interface FleetHost {
  hostId: string;
  dir: string;
  agent: ManagedProcess;
  configPath: string;
}

export interface FleetOptions {
  hostIds: string[];
  service: string;
  /** Version installed before the test; default "1.0". */
  installed?: string;
  /** The service a host manages when not `service`. */
  serviceOf?: (hostId: string) => string;
  /** Labels per host as k=v,k2=v2. */
  labels?: (hostId: string, index: number) => string;
  /** Extra controller settings by section. */
  controller?: Record<string, Record<string, string | number | boolean>>;
  /** Extra keys of a host's [process.SERVICE] (JSON values: lists allowed), given its files' dir. */
  serviceExtra?: (hostId: string, dir: string) => Record<string, unknown>;
}

export interface Fleet {
  dir: string;
  db: TestDatabase;
  controller: ManagedProcess;
  controllerConfig: string;
  /** The controller's gRPC address (host:port), the same across restartController. */
  grpcAddress: string;
  hosts: Map<string, FleetHost>;
  /** The API as the admin token. */
  api: ApiClient;
  tokens: Record<Role, string>;
  /** The version file of a host ('' when absent). */
  installed(hostId: string): Promise<string>;
  /** Makes `version` break on `hostId` after it is installed there. */
  breakVersionOn(hostId: string, version: string): Promise<void>;
  /** SIGKILLs the controller and starts a new one on the same config; resolves once agents are back. */
  restartController(opts?: { signal?: NodeJS.Signals }): Promise<void>;
}

/**
 * The agent config of a process-less service whose state is files in `dir`:
 * `running` (up), `version` (installed), `installs` (every install, one a
 * line), `slow` (when present, install takes a second), `hold` (while present, install
 * waits: the test decides when it ends), `calls` (up-checks since install),
 * `breaks` (versions that break on this host, one a line). A version listed in
 * `breaks` passes its update (start and health check) and then fails every
 * up-check after the second: a service that breaks shortly after an update,
 * on the hosts the test chooses, without any clock in the test.
 */
export function fleetService(dir: string): Record<string, string | number | boolean> {
  const f = (name: string) => join(dir, name);
  return {
    restart_strategy: 'process',
    start_command: `touch ${f('running')}`,
    stop_command: `rm -f ${f('running')}`,
    assert_down_command: `sh -c '! test -f ${f('running')}'`,
    assert_up_command:
      `sh -c 'test -f ${f('running')} || { echo "not running: no ${f('running')}" >&2; exit 1; }; n=$(( $(cat ${f('calls')} 2>/dev/null || echo 0) + 1 )); ` +
      `echo $n > ${f('calls')}; grep -qxF "$(cat ${f('version')})" ${f('breaks')} 2>/dev/null || exit 0; ` +
      `test $n -le 2 || { echo "version $(cat ${f('version')}) broke after $n checks" >&2; exit 1; }'`,
    health_check_command: `test -f ${f('running')}`,
    install_command:
      `sh -c 'while test -f ${f('hold')}; do sleep 0.05; done; if test -f ${f('slow')}; then sleep 1; fi; echo "$SMGR_VERSION" > ${f('version')}; ` +
      `echo "$SMGR_VERSION" >> ${f('installs')}; rm -f ${f('calls')}'`,
    version_command: `cat ${f('version')}`,
    // Rollbacks return hosts to an older version: this fleet opts in.
    allow_downgrade: true,
    health_check_timeout: 2,
    health_check_interval: 0.05,
    stop_timeout: 1,
  };
}

/**
 * A fleet of no agents whose controller carries `controller` settings: for
 * tests of what a controller does alone (notifications, certificates).
 */
export function agentlessFleet(controller: NonNullable<FleetOptions['controller']>): FleetOptions {
  return { hostIds: [], service: 'unused', controller };
}

/**
 * Makes `dir` the files of a fleet host (see `fleetService`): `installed`
 * installed and the service up; with `slow`, installs there take a second.
 */
export async function writeFleetHostFiles(dir: string, opts: { installed?: string; slow?: boolean } = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), `${opts.installed ?? '1.0'}\n`);
  await writeFile(join(dir, 'running'), '');
  if (opts.slow) await writeFile(join(dir, 'slow'), '');
}

/**
 * One controller (API on) and one real agent per host id on loopback, each
 * with its own state dir and its own copy of the service's files, plus
 * viewer/operator/admin tokens.
 */
export async function startFleet(cleanup: Cleanup, deps: { mysql: MariaDbInstance; redis: RedisInstance }, opts: FleetOptions): Promise<Fleet> {
  const tmp = await makeTempDir('fleet');
  cleanup.add(() => tmp.remove(), 'fleet temp dir');
  const db = await createTestDatabase(deps.mysql);
  cleanup.add(() => db.drop(), 'fleet database');
  const sections: Record<string, Record<string, string | number | boolean>> = {
    database: { host: deps.mysql.host, port: deps.mysql.port, user: deps.mysql.user, password: deps.mysql.password, database: db.name },
    monitor: { check_interval: 0.2, retry_delay: 60 },
    redis: { url: deps.redis.url, prefix: uniquePrefix('fleet') },
    controller: { id: 'ctl-fleet', heartbeat_interval: 1, agent_ttl: 5, lease_ttl: 2 },
    tls: { insecure: true },
    logging: { level: 'info' },
    api: { ...TEST_API_SETTINGS.api },
  };
  // A fixed gRPC port: agents must find a restarted controller at the same address.
  const grpcPort = await freePort();
  sections.controller = { ...sections.controller, ...TEST_API_SETTINGS.controller, grpc_listen: `127.0.0.1:${grpcPort}` };
  for (const [name, keys] of Object.entries(opts.controller ?? {})) sections[name] = { ...sections[name], ...keys };
  const controllerConfig = join(tmp.path, 'controller.ini');
  await writeFile(controllerConfig, ini(sections));

  let controller = startController(controllerConfig, 'controller');
  let stopController = () => controller.stop();
  cleanup.add(() => stopController(), 'controller');
  await waitForLog(controller, 'controller running', 30_000);
  const apiUrl = `http://127.0.0.1:${await apiPortOf(controller)}`;

  const hosts = new Map<string, FleetHost>();
  await Promise.all(
    opts.hostIds.map(async (hostId, i) => {
      const dir = join(tmp.path, 'hosts', hostId);
      await writeFleetHostFiles(dir, { installed: opts.installed });
      const configPath = join(dir, 'agent.json');
      await writeFile(
        configPath,
        JSON.stringify(
          {
            agent: {
              controller: `127.0.0.1:${grpcPort}`,
              host_id: hostId,
              state_dir: join(dir, 'state'),
              reconnect_max_delay: 0.5,
              labels: opts.labels?.(hostId, i) ?? '',
            },
            tls: { insecure: true },
            logging: { level: 'info' },
            process: { [opts.serviceOf?.(hostId) ?? opts.service]: { ...fleetService(dir), ...(opts.serviceExtra?.(hostId, dir) ?? {}) } },
          },
          null,
          2,
        ),
      );
      const agent = startAgent(configPath, `agent-${hostId}`);
      cleanup.add(() => agent.stop(), `agent ${hostId}`);
      hosts.set(hostId, { hostId, dir, agent, configPath });
    }),
  );
  const adminToken = await createTokenViaController(controllerConfig, 'root', 'admin');
  const admin = new ApiClient(apiUrl, adminToken);
  const tokens: Record<Role, string> = { admin: adminToken, operator: '', viewer: '' };
  for (const role of ['operator', 'viewer'] as const) {
    const r = await admin.post('/v1/tokens', { name: `t-${role}`, role });
    if (r.status !== 201) throw new Error(`token ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens[role] = r.body.token;
  }
  const fleet: Fleet = {
    dir: tmp.path,
    db,
    controller,
    controllerConfig,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    hosts,
    api: admin,
    tokens,
    breakVersionOn: async (hostId, version) => appendFile(join(hosts.get(hostId)!.dir, 'breaks'), `${version}\n`),
    installed: async (hostId) => (await readFile(join(hosts.get(hostId)!.dir, 'version'), 'utf8').catch(() => '')).trim(),
    async restartController(o = {}) {
      await controller.stop(o.signal ?? 'SIGKILL');
      controller = startController(controllerConfig, 'controller-2');
      stopController = () => controller.stop();
      fleet.controller = controller;
      await waitForLog(controller, 'controller running', 30_000);
      fleet.api = new ApiClient(`http://127.0.0.1:${await apiPortOf(controller)}`, adminToken);
      await waitForConnected(fleet, opts.hostIds);
    },
  };
  await waitForConnected(fleet, opts.hostIds);
  return fleet;
}

/** Waits until the API lists every host as connected, with its claims decided. */
export async function waitForConnected(fleet: Fleet, hostIds: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const r = await fleet.api.get('/v1/hosts?connected=true');
      const hosts = r.body.hosts as { hostId: string; claims?: { state: string }[] }[];
      // Connected, and their service claims decided (a claim others share needs a read of PROCESE).
      const up = new Set(hosts.filter((h) => !(h.claims ?? []).some((c) => c.state === 'undecided')).map((h) => h.hostId));
      return hostIds.every((h) => up.has(h));
    },
    { timeoutMs, intervalMs: 100, message: `hosts ${hostIds.join(',')} connected`, context: () => fleet.controller.tail() },
  );
}

/** POST /v1/rollouts as `api`: the new rollout's id; throws with the answer unless it is 201. */
export async function startRollout(api: ApiClient, body: Record<string, unknown>): Promise<number> {
  const res = await api.post('/v1/rollouts', body);
  if (res.status !== 201) throw new Error(`POST /v1/rollouts answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as number;
}

/** Polls an operation until no host is pending or running; returns its last view. */
export async function waitForOperation(api: ApiClient, id: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    async () => {
      const r = await api.get(`/v1/operations/${id}`);
      return r.status === 200 && r.body.state !== 'running' ? r.body : null;
    },
    { timeoutMs, intervalMs: 100, message: `operation ${id} finished` },
  );
}

/** Polls a rollout until `pred` holds; returns its last view. */
export async function waitForRollout(api: ApiClient, id: number, pred: (r: any) => boolean, message: string, timeoutMs = 60_000): Promise<any> {
  let last: any = null;
  return waitFor(
    async () => {
      const r = await api.get(`/v1/rollouts/${id}`);
      last = r.body;
      return r.status === 200 && pred(r.body) ? r.body : null;
    },
    { timeoutMs, intervalMs: 100, message, context: () => `last view: ${JSON.stringify(last, null, 1)?.slice(0, 4000)}` },
  );
}
