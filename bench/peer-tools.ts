/**
 * The supervisors bench/agent-vs-peers.ts compares: supervisord, monit and
 * smgr, each started on copies of /bin/sleep and measured the same way.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { ManagedProcess } from '@smgr/testing';
import { AGENT_MAIN, ini, ROOT } from '@smgr/testing/smgr';
import { repairBackend } from './agent-bench-support.js';
import { sleep } from './bench-support.js';

export interface Instance {
  tool: string;
  /** Service names (= comm of their processes). */
  names: string[];
  /** The supervisor processes to measure; the first is "the" supervisor. */
  measured: { role: string; pid: number }[];
  /** Waits until the tool reports its services settled (smgr: no alarm left). */
  settled(): Promise<boolean>;
  /** The supervisor's last output lines, for errors. */
  tail(): string;
  stop(): Promise<void>;
}

export interface ToolDef {
  name: string;
  version(): string | null;
  /** Starts an instance supervising `names` (binaries already in `bin`). */
  start(label: string, names: string[], bin: string, dir: string): Promise<Instance>;
}

/** What the tools started, stopped in reverse at the end whatever happens. */
export const cleanups: (() => Promise<unknown>)[] = [];

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    try {
      readFileSync(join(dir, cmd), { flag: 'r' });
      return join(dir, cmd);
    } catch {
      /* next */
    }
  }
  return null;
}

/** A ManagedProcess that is stopped at the end whatever happens. */
function spawnTracked(cmd: string, argv: string[], name: string, logDir: string): ManagedProcess {
  const p = ManagedProcess.start(cmd, argv, { name, logDir, maxLines: 2_000 });
  cleanups.push(() => p.stop('SIGTERM', 5_000).catch(() => p.stop('SIGKILL')));
  return p;
}

/** The instance of a tool that is one supervisor process, `p`, and has nothing more to wait for once its services run. */
function oneProcess(tool: string, names: string[], p: ManagedProcess): Instance {
  return {
    tool,
    names,
    measured: [{ role: tool, pid: p.pid! }],
    settled: async () => true,
    tail: () => p.tail(),
    stop: () => p.stop('SIGTERM', 10_000).then(() => undefined),
  };
}

export const supervisord: ToolDef = {
  name: 'supervisord',
  version() {
    const bin = which('supervisord');
    return bin ? execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() : null;
  },
  async start(label, names, bin, dir) {
    const conf = join(dir, `${label}.conf`);
    const sections = [
      `[unix_http_server]\nfile = ${join(dir, `${label}.sock`)}\nchmod = 0700\n`,
      `[supervisord]\nnodaemon = true\nuser = root\nlogfile = ${join(dir, `${label}.log`)}\npidfile = ${join(dir, `${label}.pid`)}\nchildlogdir = ${dir}\nloglevel = warn\n`,
      `[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n`,
      `[supervisorctl]\nserverurl = unix://${join(dir, `${label}.sock`)}\n`,
      ...names.map(
        (n) =>
          `[program:${n}]\ncommand = ${join(bin, n)} infinity\nautostart = true\nautorestart = true\nstartsecs = 0\nstdout_logfile = NONE\nstderr_logfile = NONE\n`,
      ),
    ];
    await writeFile(conf, sections.join('\n'));
    const p = spawnTracked(which('supervisord')!, ['-n', '-c', conf], label, dir);
    return oneProcess('supervisord', names, p);
  },
};

export const monit: ToolDef = {
  name: 'monit',
  version() {
    const bin = which('monit');
    return bin ? (execFileSync(bin, ['-V'], { encoding: 'utf8' }).split('\n')[0] ?? '').trim() : null;
  },
  async start(label, names, bin, dir) {
    const rc = join(dir, `${label}.monitrc`);
    const lines = [
      'set daemon 1',
      `set logfile ${join(dir, `${label}.log`)}`,
      `set pidfile ${join(dir, `${label}.pid`)}`,
      `set idfile ${join(dir, `${label}.id`)}`,
      `set statefile ${join(dir, `${label}.state`)}`,
      // A private control socket instead of the default TCP port 2812. The start
      // program puts the service in the background: Monit waits for a start
      // program to exit (30 s) before it looks for the process.
      `set httpd unixsocket ${join(dir, `${label}.sock`)}`,
      '  allow localhost',
      '',
      ...names.flatMap((n) => [
        `check process ${n} matching "^${join(bin, n)} "`,
        `  start program = "/bin/sh -c '${join(bin, n)} infinity </dev/null >/dev/null 2>&1 &'"`,
        '',
      ]),
    ];
    await writeFile(rc, lines.join('\n'), { mode: 0o600 });
    await chmod(rc, 0o600);
    const p = spawnTracked(which('monit')!, ['-c', rc, '-I'], label, dir);
    return oneProcess('monit', names, p);
  },
};

interface SmgrShared {
  pool: mysql.Pool;
  grpcPort: number;
  controllerPid: number;
  controller: ManagedProcess;
  nextId: number;
}
let smgrShared: SmgrShared | null = null;

async function smgrBackend(): Promise<SmgrShared> {
  if (smgrShared) return smgrShared;
  const { pool, grpcPort, controller: c } = await repairBackend('peers', cleanups);
  smgrShared = { pool, grpcPort, controllerPid: c.pid!, controller: c, nextId: 1 };
  return smgrShared;
}

/** smgr: one shared controller (repairBackend) and an agent per instance, run with `agentFlags`, repairs by `watchRepair`. */
export function smgrTool(agentFlags: readonly string[], watchRepair: string): ToolDef {
  return {
    name: 'smgr',
    version() {
      return `smgr ${JSON.parse(readFileSync(join(ROOT, 'services/agent/package.json'), 'utf8')).version} (${process.execPath} ${agentFlags.join(' ')} services/agent/dist/main.js)`;
    },
    async start(label, names, bin, dir) {
      const shared = await smgrBackend();
      const ids = names.map(() => shared.nextId++);
      await shared.pool.query('INSERT INTO PROCESE (process_id, process_name) VALUES ?', [ids.map((id, i) => [id, names[i]])]);
      await shared.pool.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound) VALUES ?', [ids.map((id) => [id, 0, 0])]);
      const conf = join(dir, `${label}.ini`);
      await writeFile(
        conf,
        ini({
          agent: { controller: `127.0.0.1:${shared.grpcPort}`, host_id: label, state_dir: join(dir, `${label}-state`) },
          tls: { insecure: true },
          logging: { level: 'info' },
          'process.default': { restart_strategy: 'process', watch: true, watch_interval: 1, watch_failures: 1, watch_repair: watchRepair },
          ...Object.fromEntries(names.map((n) => [`process.${n}`, { start_command: `${join(bin, n)} infinity` }])),
        }),
      );
      const agent = spawnTracked(process.execPath, [...agentFlags, AGENT_MAIN, '--config', conf], label, dir);
      // The controller learns the agent's services when it connects; wait for that before raising the alarms.
      await agent.waitForLine((_, j) => j?.msg === 'connected to controller', 120_000, `${label} connects`);
      await sleep(500);
      // One alarm each: the controller has the agent start every service, so the agent is their parent.
      await shared.pool.query('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id IN (?)', [ids]);
      const settled = async () => {
        const [rows] = await shared.pool.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma <> 0 AND process_id IN (?)', [
          ids,
        ]);
        return Number(rows[0]!.n) === 0;
      };
      return {
        tool: 'smgr',
        names,
        measured: [
          { role: 'agent', pid: agent.pid! },
          { role: 'controller', pid: shared.controllerPid },
        ],
        settled,
        tail: () => `${agent.tail()}\n--- controller\n${shared.controller.tail()}`,
        stop: () => agent.stop('SIGTERM', 10_000).then(() => undefined),
      };
    },
  };
}
