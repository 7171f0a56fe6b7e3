/**
 * Issue 12 on a real systemd host (nspawn, Debian 12), with the packaged
 * agent under its shipped unit (its own unprivileged user, the polkit rule
 * written by the smgr_agent_polkit role) and a controller in the same host
 * (on the test's throwaway MariaDB and Redis, through their sockets):
 *
 * - a watched unit (Restart=no) whose main process is SIGKILLed is found
 *   through systemd's D-Bus PropertiesChanged signal, not a watch round (the
 *   agent's log and the watch report name D-Bus as the source; the round is
 *   an hour away), repaired with `systemctl restart`, and its alarm cleared;
 * - with the subscription refused (a bus policy denies the agent's
 *   Subscribe), the agent says it falls back to polling, and the same kill
 *   is found by a watch round and repaired the same way. (A bogus
 *   DBUS_SYSTEM_BUS_ADDRESS would take systemctl's bus away too: the unit
 *   test on a private bus covers an absent bus.)
 *
 * Runs with SMGR_FLEET=1.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  bootNspawnHost,
  createNetLab,
  createTestDatabase,
  ensureRootfs,
  makeTempDir,
  startMariaDb,
  startRedis,
  uniquePrefix,
  useCleanup,
  waitFor,
  type NspawnHost,
} from '../harness/index.js';
import { outputTail, runPlaybook } from './support/playbook.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SOCKETS = { mysql: '/run/smgr-lab/mysqld.sock', redis: '/run/smgr-lab/redis.sock' };
const SVC = 'dbussvc';
const UNIT = `${SVC}.service`;
const AGENT_UNIT = 'smgr-agent.service';

const agentIni = (watchInterval: number) => `[agent]
controller = 127.0.0.1:7443
host_id = d1
state_dir = /var/lib/smgr-agent

[tls]
insecure = true

[logging]
level = debug

[process.${SVC}]
restart_strategy = service
watch = true
watch_interval = ${watchInterval}
watch_failures = 3
`;

/** The agent's JSON log lines from the journal (the unit logs JSON to stdout). */
async function agentLog(host: NspawnHost): Promise<Record<string, unknown>[]> {
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

test('a SIGKILLed systemd unit is detected through D-Bus and repaired; with its subscription refused it is found by polling', { timeout: 900_000 }, async (t) => {
  const c = useCleanup(t);
  const rootfs = await ensureRootfs({ log: (m) => console.log(`# ${m}`) });
  const tmp = await makeTempDir('dbus-watch');
  c.add(() => tmp.remove(), 'temp dir');
  const packaged = await run(process.execPath, [join(ROOT, 'scripts/package.mjs'), '--with-node', '--out', join(tmp.path, 'artifact')], { cwd: ROOT, timeout: 300_000 });
  const artifact = JSON.parse(packaged.stdout.trim().split('\n').at(-1)!).artifact as string;

  const mysql = await startMariaDb();
  c.add(() => mysql.stop(), 'mariadb');
  const redis = await startRedis();
  c.add(() => redis.stop(), 'redis');
  if (!mysql.socketPath || !redis.socketPath) throw new Error('this test needs throwaway servers (unset SMGR_TEST_MYSQL_URL / SMGR_TEST_REDIS_URL)');
  await chmod(redis.socketPath, 0o666);
  const db = await createTestDatabase(mysql);
  c.add(() => db.drop(), 'database');

  const lab = await createNetLab('dbusw');
  c.add(() => lab.stop(), 'netlab');
  const net = await lab.addHost('d1');
  const host = await bootNspawnHost({
    name: 'smgr-dbusw',
    rootfs: rootfs.path,
    netnsPath: net.nsPath,
    binds: [
      { source: artifact, target: '/opt/smgr/current', readOnly: true },
      { source: mysql.socketPath, target: SOCKETS.mysql },
      { source: redis.socketPath, target: SOCKETS.redis },
    ],
  });
  c.add(() => host.stop(), 'nspawn host');

  // The watched unit: a copy of sleep, not restarted by systemd itself.
  await host.exec(['mkdir', '-p', '/etc/smgr', '/opt/svc', `/etc/systemd/system/${AGENT_UNIT}.d`]);
  await host.exec(['cp', '/bin/sleep', `/opt/svc/${SVC}`]);
  await host.exec(['tee', `/etc/systemd/system/${UNIT}`], { input: `[Service]\nExecStart=/opt/svc/${SVC} infinity\nRestart=no\n` });
  await host.systemctl('daemon-reload');
  await host.systemctl('start', UNIT);

  // The agent's user and its polkit rule, as site.yml makes them.
  await host.exec(['useradd', '--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'smgr-agent']);
  const inventory = join(tmp.path, 'inventory.json');
  await writeFile(
    inventory,
    JSON.stringify({
      all: {
        vars: { ansible_python_interpreter: '/usr/bin/python3', ansible_become_method: 'su' },
        hosts: { d1: { ansible_connection: 'community.docker.nsenter', ansible_nsenter_pid: host.leaderPid } },
      },
    }),
  );
  const vars = join(tmp.path, 'vars.json');
  await writeFile(vars, JSON.stringify({ smgr_agent_services: { [SVC]: { restart_strategy: 'service' } }, smgr_agent_process_defaults: {}, smgr_agent_extra_units: [] }));
  const pb = await runPlaybook(join(import.meta.dirname, 'ansible/privileges.yml'), { inventory, extraVarsFile: vars, logDir: tmp.path, name: 'dbus-watch-polkit' });
  assert.equal(pb.code, 0, `playbook failed:\n${outputTail(pb)}`);
  await host.systemctl('restart', 'polkit.service');

  // The controller, as root in a transient unit (it is not what this test is about).
  await host.exec(['tee', '/etc/smgr/controller.ini'], {
    input: `[database]\nsocket = ${SOCKETS.mysql}\nuser = ${mysql.user}\npassword = ${mysql.password}\ndatabase = ${db.name}\n\n[redis]\nurl = unix://${SOCKETS.redis}\nprefix = ${uniquePrefix('dbusw')}\n\n[monitor]\ncheck_interval = 0.2\nretry_delay = 5\n\n[controller]\ngrpc_listen = 127.0.0.1:7443\nheartbeat_interval = 1\nagent_ttl = 5\n\n[tls]\ninsecure = true\n\n[logging]\nlevel = debug\n`,
  });
  await host.exec(['systemd-run', '--unit=smgr-ctl-test', '--property=Type=exec', '/opt/smgr/current/bin/smgr-controller', '--config', '/etc/smgr/controller.ini']);
  c.add(() => host.exec(['systemctl', 'stop', 'smgr-ctl-test.service'], { allowFailure: true }), 'controller');
  await db.query('INSERT INTO PROCESE (process_id, process_name) VALUES (1, ?)', [SVC]);
  await db.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');

  // The agent under its shipped unit: a watch round once an hour, watch_failures = 3.
  await host.exec(['tee', '/etc/smgr/agent.ini'], { input: agentIni(3600) });
  await host.exec(['cp', '/opt/smgr/current/share/systemd/smgr-agent.service', `/etc/systemd/system/${AGENT_UNIT}`]);
  await host.systemctl('daemon-reload');
  await host.systemctl('start', AGENT_UNIT);
  c.add(() => host.exec(['systemctl', 'stop', AGENT_UNIT], { allowFailure: true }), 'agent');

  let seen: Record<string, unknown>[] = [];
  const logged = (msg: string, pred: (j: Record<string, unknown>) => boolean = () => true, after = 0) =>
    waitFor(
      async () => {
        seen = await agentLog(host);
        return seen.slice(after).find((j) => j.msg === msg && pred(j)) ?? null;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: `agent log "${msg}"`, context: () => seen.slice(-30).map((j) => JSON.stringify(j)).join('\n') },
    );
  const subscribed = await logged('watching systemd units over D-Bus (PropertiesChanged)');
  assert.deepEqual(subscribed.units, [UNIT], 'the unprivileged agent subscribed to its unit');
  await logged('connected to controller');

  const mainPid = async () => Number((await host.systemctl('show', '--property=MainPID', '--value', UNIT)).trim());

  const killAndRepair = async (detectedBy: 'dbus' | 'poll') => {
    const before = await mainPid();
    assert.ok(before > 0, `${UNIT} runs`);
    const mark = (await agentLog(host)).length;
    await host.exec(['kill', '-KILL', String(before)]);
    const failing = await logged('watched service failing', (j) => j.service === SVC, mark);
    assert.equal(failing.detectedBy, detectedBy, JSON.stringify(failing));
    let last = '';
    const repaired = await waitFor(
      async () => {
        const [s] = await db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = 1');
        const pid = await mainPid();
        const active = (await host.systemctl('show', '--property=ActiveState', '--value', UNIT)).trim();
        const events = await db.query<{ kind: string; outcome: string | null; message: string }>('SELECT kind, outcome, message FROM smgr_events ORDER BY id');
        seen = await agentLog(host);
        last = `alarma=${s?.alarma} notes=${s?.notes} pid=${pid} (before ${before}) ${active}\nevents:\n${events.map((e) => `${e.kind} ${e.outcome} ${e.message}`).join('\n')}`;
        return Number(s?.alarma) === 0 && /restarted by service strategy|systemd restart/.test(s?.notes ?? '') && active === 'active' && pid > 0 && pid !== before ? { s, pid } : null;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 1_000,
        message: `${UNIT} repaired and its alarm cleared (${detectedBy})`,
        context: () => `${last}\nagent log:\n${seen.slice(-40).map((j) => JSON.stringify(j)).join('\n')}`,
      },
    );
    return { failing, repaired };
  };

  const viaDbus = await killAndRepair('dbus');
  assert.match(String(viaDbus.failing.detail), new RegExp(`^systemd reported ${UNIT.replace('.', '\\.')} failed/failed over D-Bus$`));
  assert.equal(viaDbus.failing.failures, 1, 'reported on its first failed check: systemd said the unit failed');
  const [report] = await db.query<{ message: string }>("SELECT message FROM smgr_events WHERE kind = 'agent_event' AND process_id = 1 ORDER BY id DESC LIMIT 1");
  assert.match(report?.message ?? '', /over D-Bus/, 'the watch report says how the failure was found');

  // The bus refuses the agent's Subscribe (a site policy; systemctl restart still works): polling, said once, does the same job.
  await host.exec(['tee', '/etc/dbus-1/system.d/90-smgr-test-no-subscribe.conf'], {
    input:
      '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n' +
      '<busconfig><policy user="smgr-agent"><deny send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="Subscribe"/></policy></busconfig>\n',
  });
  await host.systemctl('reload', 'dbus.service');
  await host.exec(['tee', '/etc/smgr/agent.ini'], { input: agentIni(1) });
  const mark = (await agentLog(host)).length;
  await host.systemctl('restart', AGENT_UNIT);
  const fallback = await logged('systemd units cannot be followed over D-Bus; watching them by polling every watch_interval (retrying D-Bus in the background)', () => true, mark);
  assert.match(String(fallback.err), /Subscribe|AccessDenied|rejected/i, String(fallback.err));
  await logged('watching services', () => true, mark);
  const viaPoll = await killAndRepair('poll');
  assert.equal(viaPoll.failing.failures, 3, 'found by three failed watch rounds');
});
