/**
 * One Debian systemd host (nspawn) for the D-Bus unit watch: the packaged
 * agent under its shipped unit (its own unprivileged user, the polkit rule
 * the smgr_agent_polkit role writes), a controller in the same host (as root
 * in a transient unit, on the throwaway MariaDB and Redis through their
 * sockets), and one watched unit, a copy of sleep with Restart=no. Used by
 * test/fleet/dbus-unit-watch.test.ts and bench/dbus-unit-detection.ts.
 * Everything is registered with the given Cleanup.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uniquePrefix, type Cleanup, type NspawnHost, type TestDatabase } from '@smgr/testing';
import { LAB_SOCKETS, startLabServers } from './lab-servers.js';
import { bootPackagedHost } from './packaged-host.js';
import { outputTail, runPlaybook, writeInventory } from './playbook.js';

export const SVC = 'dbussvc';
export const UNIT = `${SVC}.service`;
export const AGENT_UNIT = 'smgr-agent.service';

/** The agent's config: one watched service-strategy unit, its watch round every `watchInterval` s; `agent`: more [agent] lines. */
export const agentIni = (watchInterval: number, more: { watchFailures?: number; agent?: string } = {}) => `[agent]
controller = 127.0.0.1:7443
host_id = d1
state_dir = /var/lib/smgr-agent
${more.agent ?? ''}
[tls]
insecure = true

[logging]
level = debug

[process.${SVC}]
restart_strategy = service
watch = true
watch_interval = ${watchInterval}
watch_failures = ${more.watchFailures ?? 3}
`;

/** The agent's JSON log lines from the journal (the unit logs JSON to stdout). */
export async function agentLog(host: NspawnHost): Promise<Record<string, unknown>[]> {
  const out = (await host.exec(['journalctl', `--unit=${AGENT_UNIT}`, '--no-pager', '--output=cat'], { allowFailure: true })).stdout;
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

export interface UnitWatchHost {
  host: NspawnHost;
  db: TestDatabase;
  /** The unit's MainPID (0 when it does not run). */
  mainPid(): Promise<number>;
}

/** Boots the host and starts controller, agent (agentIni(watchInterval)) and the unit; PROCESE row 1 is the unit. */
export async function startUnitWatchHost(c: Cleanup, opts: { name: string; watchInterval: number; log?: (m: string) => void }): Promise<UnitWatchHost> {
  const { mysql, db, binds } = await startLabServers(c, 'this test');
  const { host, dir } = await bootPackagedHost(c, {
    name: opts.name,
    label: opts.name.replace(/^smgr-/, ''),
    labHost: 'd1',
    binds,
    ...(opts.log ? { log: opts.log } : {}),
  });

  // The watched unit: a copy of sleep, not restarted by systemd itself.
  await host.exec(['mkdir', '-p', '/etc/smgr', '/opt/svc', `/etc/systemd/system/${AGENT_UNIT}.d`]);
  await host.exec(['cp', '/bin/sleep', `/opt/svc/${SVC}`]);
  await host.exec(['tee', `/etc/systemd/system/${UNIT}`], { input: `[Service]\nExecStart=/opt/svc/${SVC} infinity\nRestart=no\n` });
  await host.systemctl('daemon-reload');
  await host.systemctl('start', UNIT);

  // The agent's user and its polkit rule, as site.yml makes them.
  await host.exec(['useradd', '--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'smgr-agent']);
  const inventory = await writeInventory(join(dir, 'inventory.json'), { d1: host.leaderPid });
  const vars = join(dir, 'vars.json');
  await writeFile(
    vars,
    JSON.stringify({ smgr_agent_services: { [SVC]: { restart_strategy: 'service' } }, smgr_agent_process_defaults: {}, smgr_agent_extra_units: [] }),
  );
  const pb = await runPlaybook(join(import.meta.dirname, '../ansible/privileges.yml'), {
    inventory,
    extraVarsFile: vars,
    logDir: dir,
    name: 'dbus-watch-polkit',
  });
  if (pb.code !== 0) throw new Error(`playbook failed:\n${outputTail(pb)}`);
  await host.systemctl('restart', 'polkit.service');

  // The controller, as root in a transient unit (it is not what this test is about).
  await host.exec(['tee', '/etc/smgr/controller.ini'], {
    input: `[database]\nsocket = ${LAB_SOCKETS.mysql}\nuser = ${mysql.user}\npassword = ${mysql.password}\ndatabase = ${db.name}\n\n[redis]\nurl = unix://${LAB_SOCKETS.redis}\nprefix = ${uniquePrefix('dbusw')}\n\n[monitor]\ncheck_interval = 0.2\nretry_delay = 5\n\n[controller]\ngrpc_listen = 127.0.0.1:7443\nheartbeat_interval = 1\nagent_ttl = 5\n\n[tls]\ninsecure = true\n\n[logging]\nlevel = debug\n`,
  });
  await host.exec([
    'systemd-run',
    '--unit=smgr-ctl-test',
    '--property=Type=exec',
    '/opt/smgr/current/bin/smgr-controller',
    '--config',
    '/etc/smgr/controller.ini',
  ]);
  c.add(() => host.exec(['systemctl', 'stop', 'smgr-ctl-test.service'], { allowFailure: true }), 'controller');
  await db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (1, ?)', [SVC]);
  await db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');

  // The agent under its shipped unit.
  await host.exec(['tee', '/etc/smgr/agent.ini'], { input: agentIni(opts.watchInterval) });
  await host.exec(['cp', '/opt/smgr/current/share/systemd/smgr-agent.service', `/etc/systemd/system/${AGENT_UNIT}`]);
  await host.systemctl('daemon-reload');
  await host.systemctl('start', AGENT_UNIT);
  c.add(() => host.exec(['systemctl', 'stop', AGENT_UNIT], { allowFailure: true }), 'agent');

  return { host, db, mainPid: async () => Number((await host.systemctl('show', '--property=MainPID', '--value', UNIT)).trim()) };
}
