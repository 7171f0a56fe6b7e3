/**
 * `npm run demo`: smgr end to end on this machine.
 *
 * Starts a throwaway MariaDB and Redis (or uses SMGR_DEMO_MYSQL_URL /
 * SMGR_DEMO_REDIS_URL), loads the seed schema, starts the controller, one
 * agent and a sample service, and shows how to raise an alarm and watch it
 * being repaired. `--once` runs that cycle by itself and exits (0 = repaired).
 */
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startMariaDb, startRedis, freePort, ManagedProcess, waitFor } from '@smgr/testing';
import { findPids } from '@smgr/testing/procs';

const ROOT = resolve(import.meta.dirname, '..');
const DEMO = join(ROOT, '.demo');
const SERVICE = 'smgr-demo-svc';
const once = process.argv.includes('--once');

if (process.env.SMGR_DEMO_MYSQL_URL) process.env.SMGR_TEST_MYSQL_URL = process.env.SMGR_DEMO_MYSQL_URL;
if (process.env.SMGR_DEMO_REDIS_URL) process.env.SMGR_TEST_REDIS_URL = process.env.SMGR_DEMO_REDIS_URL;

const say = (s: string) => process.stdout.write(`${s}\n`);
/** What to undo, newest last: every process the demo started is stopped by its PID. */
const stops: (() => unknown)[] = [];
let finishing = false;
/** Stops everything the demo started (newest first), removes .demo/ (it holds an admin token) and exits. */
async function finish(code: number): Promise<never> {
  if (!finishing) {
    finishing = true;
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    rmSync(DEMO, { recursive: true, force: true });
    process.exit(code);
  }
  // A second Ctrl-C while cleaning up: the first one finishes the job.
  return new Promise<never>(() => undefined);
}
process.on('SIGINT', () => void finish(0));
process.on('SIGTERM', () => void finish(0));

/**
 * SIGTERM to `pid` if it is still the process named `comm` (a PID can be
 * reused), then SIGKILL if it has not gone within `timeoutMs`.
 */
async function stopPid(pid: number, comm: string, timeoutMs = 5_000): Promise<void> {
  const alive = () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      return stat.slice(stat.indexOf('(') + 1, close) === comm && stat[close + 2] !== 'Z';
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  await waitFor(() => !alive(), { timeoutMs, intervalMs: 50, message: `${comm} (pid ${pid}) stopped` }).catch(() => {
    if (alive()) process.kill(pid, 'SIGKILL');
  });
}

rmSync(DEMO, { recursive: true, force: true });
mkdirSync(join(DEMO, 'bin'), { recursive: true });

say('smgr demo: starting MariaDB and Redis…');
const [db, redis] = await Promise.all([startMariaDb(), startRedis()]);
stops.push(
  () => db.stop(),
  () => redis.stop(),
);

const schema = readFileSync(join(ROOT, 'sql/setup.sql'), 'utf8');
const admin = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, multipleStatements: true });
stops.push(() => admin.end());
await admin.query(schema);
await admin.query('USE v_process_monitor');
await admin.query('INSERT IGNORE INTO PROCESE (process_id, process_name) VALUES (1, ?)', [SERVICE]);
await admin.query('INSERT IGNORE INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL)');

// The sample service records its PID, whoever starts it (the demo first, then
// the agent on each repair), so that the demo stops it by PID at the end.
const servicePath = join(DEMO, 'bin', SERVICE);
const servicePidfile = join(DEMO, `${SERVICE}.pid`);
const sample = readFileSync(join(ROOT, 'test/fixtures/sample-service.sh'), 'utf8');
writeFileSync(servicePath, sample.replace(/^(#!.*\n)/, `$1echo $$$$ > '${servicePidfile}'\n`), { mode: 0o755 });
stops.push(async () => {
  const pid = Number.parseInt(readFileSync(servicePidfile, 'utf8'), 10);
  if (pid > 1) await stopPid(pid, SERVICE);
});

const grpcPort = await freePort();
const apiPort = await freePort();
const controllerIni = join(DEMO, 'controller.ini');
writeFileSync(
  controllerIni,
  `; smgr controller, demo settings
[database]
host = ${db.host}
port = ${db.port}
user = ${db.user}
password = ${db.password}
database = v_process_monitor

[monitor]
check_interval = 0.2
max_restart_failures = 3
circuit_reset_time = 60

[redis]
url = ${redis.url}

[controller]
grpc_listen = 127.0.0.1:${grpcPort}
api_listen = 127.0.0.1:${apiPort}

[api]
enabled = true
; plain HTTP on loopback is for this local demo only
insecure = true

[tls]
; plaintext gRPC is for this local demo only
insecure = true

[logging]
file = ${join(DEMO, 'controller.log')}
`,
);
const agentIni = join(DEMO, 'agent.ini');
writeFileSync(
  agentIni,
  `; smgr agent, demo settings
[agent]
controller = 127.0.0.1:${grpcPort}
host_id = demo-host
state_dir = ${join(DEMO, 'agent-state')}

[tls]
insecure = true

[logging]
file = ${join(DEMO, 'agent.log')}

[process.default]
health_check_timeout = 5
restart_delay = 1
max_attempts = 2

[process.${SERVICE}]
restart_strategy = process
start_command = ${servicePath}
`,
);

const quiet = { logDir: DEMO };
const controller = ManagedProcess.start(process.execPath, [join(ROOT, 'services/controller/dist/main.js'), '--config', controllerIni], {
  name: 'controller-stdout',
  ...quiet,
});
stops.push(() => controller.stop());
await controller.waitForLine((_, j) => j?.msg === 'controller running', 60_000, 'controller running');
// The first admin token, made the way an operator makes it: from the controller binary.
const tokenFile = join(DEMO, 'token');
const tokenRun = spawnSync(
  process.execPath,
  [join(ROOT, 'services/controller/dist/main.js'), '--config', controllerIni, 'token', 'create', 'demo', '--role', 'admin'],
  { encoding: 'utf8' },
);
if (tokenRun.status !== 0) {
  say(`could not create an API token: ${tokenRun.stderr}`);
  await finish(1);
}
writeFileSync(tokenFile, `${tokenRun.stdout.trim()}\n`, { mode: 0o600 });
const cli = `node ${join(ROOT, 'packages/cli/dist/main.js')} --url http://127.0.0.1:${apiPort} --token-file ${tokenFile}`;

const agent = ManagedProcess.start(process.execPath, [join(ROOT, 'services/agent/dist/main.js'), '--config', agentIni], { name: 'agent-stdout', ...quiet });
stops.push(() => agent.stop());
await agent.waitForLine((_, j) => j?.msg === 'connected to controller', 30_000, 'agent connected');

// The sample service's first start: as an operator's init would.
const first = ManagedProcess.start(servicePath, [], { name: 'sample-first', ...quiet });
stops.push(() => first.stop());
await waitFor(() => findPids(SERVICE).length > 0, { timeoutMs: 5_000, message: 'sample service running' });

const mysqlCmd = `mariadb -h ${db.host} -P ${db.port} -u ${db.user}${db.password ? ` -p${db.password}` : ''} v_process_monitor`;
say(`
smgr is running (demo pid ${process.pid}; MariaDB pid ${db.pid ?? 'external'}, Redis pid ${redis.pid ?? 'external'}):
  controller  pid ${controller.pid}   config ${controllerIni}   log ${join(DEMO, 'controller.log.N')}
  agent       pid ${agent.pid}   config ${agentIni}   log ${join(DEMO, 'agent.log.N')}
  service     ${SERVICE} pid ${findPids(SERVICE).join(',')}   (PROCESE row 1)

Break it and watch it being repaired (in another terminal):
  pkill -x ${SERVICE}
  ${mysqlCmd} -e "UPDATE STATUS_PROCESS SET alarma=1 WHERE process_id=1"
  ${mysqlCmd} -e "SELECT * FROM STATUS_PROCESS"
Full history:
  ${mysqlCmd} -e "SELECT at, kind, host_id, outcome, message FROM smgr_events"

The operator CLI against this controller's API (admin token in ${tokenFile}):
  ${cli} status
  ${cli} hosts
  ${cli} alarm raise 1
  ${cli} restart ${SERVICE}
  ${cli} menu          (seed 002's test menu)
`);

async function statusRow(): Promise<{ alarma: number; notes: string | null }> {
  const [rows] = await admin.query('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = 1');
  return (rows as { alarma: number; notes: string | null }[])[0]!;
}

if (once) {
  say(`--once: killing ${SERVICE} and raising its alarm…`);
  await first.stop('SIGKILL');
  const raised = Date.now();
  await admin.query('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 1');
  const row = await waitFor(async () => ((await statusRow()).alarma === 0 ? statusRow() : null), {
    timeoutMs: 30_000,
    intervalMs: 50,
    message: 'alarm cleared by smgr',
  }).catch(async (err: Error) => {
    say(`FAILED: ${err.message}; notes: ${(await statusRow()).notes}`);
    return null;
  });
  if (!row) await finish(1);
  say(`repaired in ${Date.now() - raised} ms: alarma=0, notes="${row!.notes}", new pid ${findPids(SERVICE).join(',')}`);
  const [bin, ...args] = cli.split(' ');
  const status = spawnSync(bin!, [...args, 'hosts'], { encoding: 'utf8' });
  say(`$ smgr hosts\n${status.stdout}${status.stderr}`);
  if (status.status !== 0) await finish(1);
  await finish(0);
}

say('Watching STATUS_PROCESS row 1 (Ctrl-C stops everything and cleans up)…');
let last = '';
for (;;) {
  const r = await statusRow().catch(() => null);
  const line = r ? `alarma=${r.alarma} notes=${r.notes ?? ''}` : 'database unavailable';
  if (line !== last) say(`${new Date().toISOString()}  ${line}`);
  last = line;
  await new Promise((res) => setTimeout(res, 250));
}
