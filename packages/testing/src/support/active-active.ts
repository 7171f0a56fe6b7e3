/**
 * Several controllers on one database and queue prefix (each with its API)
 * and real agents listing them: the active-active tests' setup.
 */
import { freePort, useCleanup, waitFor, type Cleanup, type ManagedProcess, type MariaDbInstance, type RedisInstance } from '../harness/index.js';
import { waitForLog } from './smgr.js';
import { agentSections, chaosEnv, controllerSections, startDaemon, writeIni, type ChaosEnv, type Sections } from './chaos.js';
import { ApiClient, apiPortOf, createTokenViaController } from './operator-api.js';

/** Three controllers on one database and queue prefix, each with its API; `start` says which run at first. */
export async function threeControllers(
  t: { after(fn: () => unknown): void },
  deps: { mysql: MariaDbInstance; redis: RedisInstance },
  label: string,
  opts: { start?: number[]; more?: Sections } = {},
) {
  const cleanup = useCleanup(t);
  const env = await chaosEnv(cleanup, deps.mysql, deps.redis, label);
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
    await waitForLog(p, 'controller running', 120_000);
    return p;
  };
  // One at a time: the first one started leads.
  for (const i of opts.start ?? [0, 1, 2]) await start(i);
  const api = async (i: number) =>
    new ApiClient(`http://127.0.0.1:${await apiPortOf(procs[i]!)}`, await createTokenViaController(configs[i]!, `admin-${i}-${Date.now()}`, 'admin'));
  return { cleanup, env, addrs, configs, procs, start, api };
}

/** A real agent: `controllers` in the order it tries them (controller_order = listed), or spread. */
export async function startAgent(
  cleanup: Cleanup,
  env: ChaosEnv,
  hostId: string,
  controllers: string[],
  services: Sections,
  order: 'listed' | 'spread' = 'listed',
  agentMore: Sections[string] = {},
): Promise<ManagedProcess> {
  const cfg = await writeIni(
    env,
    `agent-${hostId}.ini`,
    agentSections(env, { hostId, controllers, services, more: { agent: { controller_order: order, ...agentMore } } }),
  );
  const agent = startDaemon('agent', cfg, `agent-${hostId}`);
  cleanup.add(() => agent.stop(), `agent ${hostId}`);
  return agent;
}

/** Waits until every host in `hostIds` is connected (to any controller) and none of its claims is undecided, as `client` reports. */
export async function waitAllConnected(client: ApiClient, hostIds: readonly string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const r = await client.get('/v1/hosts?connected=true');
      const up = new Set(
        (r.body.hosts as { hostId: string; claims?: { state: string }[] }[])
          .filter((h) => !(h.claims ?? []).some((c) => c.state === 'undecided'))
          .map((h) => h.hostId),
      );
      return hostIds.every((h) => up.has(h));
    },
    { timeoutMs, message: 'every host connected' },
  );
}
