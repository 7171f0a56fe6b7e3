/**
 * A fleet for the fleet test: systemd hosts booted with nspawn, each in its
 * own network namespace behind the lab's bridge; one of them ("ctl") for the
 * controller, which reaches the test's throwaway MariaDB and Redis over their
 * UNIX sockets bound into it. Nothing smgr is installed here: that is the
 * playbooks' job. Everything is registered with the given Cleanup.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  bootNspawnHost,
  createNetLab,
  ensureRootfs,
  makeTempDir,
  uniquePrefix,
  type Cleanup,
  type NetHost,
  type NspawnHost,
  type TestDatabase,
} from '@smgr/testing';
import { LAB_SOCKETS, startLabServers } from './lab-servers.js';
import { LAB_INVENTORY_VARS, nsenterHost } from './playbook.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');

export const GRPC_PORT = 7443;
export const API_PORT = 7080;

export interface FleetHost {
  name: string;
  net: NetHost;
  host: NspawnHost;
}

export interface Fleet {
  dir: string;
  db: TestDatabase;
  ctl: FleetHost;
  agents: FleetHost[];
  inventory: string;
  varsFile: string;
  artifactDir: string;
  /** Phase durations in ms (rootfs, packaging, boot, ...), for the report. */
  timings: Record<string, number>;
  rootfsBuilt: boolean;
}

export interface FleetOptions {
  agents: string[];
  /** Versions packaged into artifacts (the first is installed, the others are upgrades). */
  versions: string[];
  /** Agent [process.NAME] sections, in the role's smgr_agent_services form. */
  services: Record<string, Record<string, string | number | boolean>>;
  /** Extra role variables. */
  vars?: Record<string, unknown>;
}

export async function startFleet(cleanup: Cleanup, opts: FleetOptions): Promise<Fleet> {
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      timings[phase] = Date.now() - t0;
    }
  };
  for (const bin of ['services/controller/dist/main.js', 'services/agent/dist/main.js', 'packages/shared/dist/pki/pki-main.js']) {
    if (!existsSync(join(ROOT, bin))) throw new Error(`${bin} is missing: run \`npx turbo run build\` before the fleet test`);
  }

  const rootfs = await timed('rootfs', () => ensureRootfs({ log: (m) => console.log(`# ${m}`) }));
  const tmp = await makeTempDir('fleet');
  cleanup.add(() => tmp.remove(), 'fleet temp dir');
  const dir = tmp.path;

  const artifactDir = join(dir, 'artifacts');
  await timed('package', async () => {
    for (const version of opts.versions) {
      await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--version', version, '--with-node', '--tarball', '--out', artifactDir], {
        cwd: ROOT,
        timeout: 300_000,
      });
    }
  });

  const { mysql, db, binds } = await startLabServers(cleanup, 'the fleet test');

  const lab = await createNetLab('fleet', cleanup);
  const ctlNet = await lab.addHost('ctl');
  const agentNets: NetHost[] = [];
  for (const name of opts.agents) agentNets.push(await lab.addHost(name));

  const pkiDir = join(dir, 'pki');
  const pki = (...args: string[]) => run(process.execPath, [join(ROOT, 'packages/shared/dist/pki/pki-main.js'), ...args], { timeout: 60_000 });
  await timed('pki', async () => {
    await pki('init', pkiDir);
    await pki('issue', pkiDir, 'ctl', '--role', 'controller', '--san', ctlNet.address);
    for (const name of opts.agents) await pki('issue', pkiDir, name, '--role', 'agent');
  });

  const boot = async (net: NetHost, binds?: { source: string; target: string }[]) => {
    const host = await bootNspawnHost({ name: net.name, rootfs: rootfs.path, netnsPath: net.nsPath, ...(binds ? { binds } : {}) });
    cleanup.add(() => host.stop(), `nspawn ${net.name}`);
    return { name: net.name, net, host };
  };
  const { ctl, agents } = await timed('boot', async () => {
    const c = await boot(ctlNet, binds);
    const a: FleetHost[] = [];
    for (const net of agentNets) a.push(await boot(net));
    return { ctl: c, agents: a };
  });

  const nsenter = (h: FleetHost) => nsenterHost(h.host.leaderPid);
  const inventory = join(dir, 'inventory.yml');
  await writeFile(
    inventory,
    JSON.stringify(
      {
        all: {
          vars: LAB_INVENTORY_VARS,
        },
        smgr_controllers: { hosts: { ctl: nsenter(ctl) } },
        smgr_agents: { hosts: Object.fromEntries(agents.map((a) => [a.name, { ...nsenter(a), smgr_agent_labels: { fleet: 'test', host: a.name } }])) },
      },
      null,
      2,
    ),
  );
  const varsFile = join(dir, 'vars.json');
  await writeFile(
    varsFile,
    JSON.stringify(
      {
        smgr_version: opts.versions[0],
        smgr_artifact_dir: artifactDir,
        smgr_pki_dir: pkiDir,
        smgr_controller_db_socket: LAB_SOCKETS.mysql,
        smgr_controller_db_user: mysql.user,
        smgr_controller_db_password: mysql.password,
        smgr_controller_db_name: db.name,
        smgr_controller_redis_url: `unix://${LAB_SOCKETS.redis}`,
        smgr_controller_grpc_listen: `0.0.0.0:${GRPC_PORT}`,
        smgr_controller_api_listen: `127.0.0.1:${API_PORT}`,
        smgr_controller_log_level: 'debug',
        smgr_controller_extra: {
          monitor: { check_interval: 0.2, retry_delay: 5 },
          controller: { heartbeat_interval: 1, agent_ttl: 5 },
          redis: { prefix: uniquePrefix('fleet') },
          api: { enabled: true, insecure: true },
        },
        smgr_agent_controllers: [`${ctlNet.address}:${GRPC_PORT}`],
        smgr_agent_log_level: 'debug',
        smgr_agent_extra: { reconnect_max_delay: 1 },
        smgr_agent_services: opts.services,
        ...opts.vars,
      },
      null,
      2,
    ),
  );

  return {
    dir,
    db,
    ctl,
    agents,
    inventory,
    varsFile,
    artifactDir,
    timings,
    rootfsBuilt: rootfs.built,
  };
}
