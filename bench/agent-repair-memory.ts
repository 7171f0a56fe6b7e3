#!/usr/bin/env -S node --import tsx
/**
 * bench/agent-repair-memory (issue 12): does the agent give back the memory
 * that repairs take?
 *
 * A throwaway MariaDB + Redis, the compiled controller and one agent (node
 * flags of the packaged launcher) with 20 services (copies of /bin/sleep),
 * restart_strategy = process, watch = true, watch_interval = 1,
 * watch_failures = 1. Repairs are driven the way production drives them:
 * - an alarm on every service at once (UPDATE STATUS_PROCESS SET alarma = 1):
 *   the controller sends 20 RESTART jobs, the agent stops and starts each;
 *   20 repairs per wave, the next wave when every alarm is cleared;
 * - a mass failure: all 20 processes SIGKILLed at once, repaired through the
 *   watch (exit seen → watch_failed → alarm → RESTART), counted as 20 repairs.
 * Phases: fresh (all up, settled) → `--plateaus` repairs (default 1000 and
 * 10000; the 10 mass failures are part of the first plateau) → idle. At each
 * plateau, after `--settle` seconds without work, the agent's VmRSS, RssAnon,
 * RssFile and, when --snapshots is given, a V8 heap snapshot
 * (--heapsnapshot-signal=SIGUSR2, written to the agent's directory).
 *
 *   node --import tsx bench/agent-repair-memory.ts [--plateaus 1000,10000] [--mass 10] [--settle 15] [--snapshots]
 *
 * Prints one JSON document (progress on stderr); needs `npm run build` first.
 */
import { copyFile, chmod, mkdir, writeFile, readdir } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { makeTempDir, ManagedProcess } from '@smgr/testing';
import { AGENT_MAIN, ini } from '@smgr/testing/smgr';
import { repairBackend } from './agent-bench-support.js';
import { benchArgs, loadAverages, progress, round1, sleep } from './bench-support.js';

const args = benchArgs({
  plateaus: '1000,10000',
  mass: '10',
  services: '20',
  settle: '15',
  snapshots: false,
  'agent-flags': '--lite-mode --no-expose-wasm --max-semi-space-size=1',
});
const PLATEAUS = args.plateaus.split(',').map(Number);
const MASS = Number(args.mass);
const SERVICES = Number(args.services);
const SETTLE_S = Number(args.settle);
const AGENT_FLAGS = args['agent-flags'].split(/\s+/).filter(Boolean);
if (PLATEAUS.some((n, i) => !Number.isInteger(n) || n <= 0 || (i > 0 && n <= PLATEAUS[i - 1]!))) throw new Error('--plateaus: increasing positive integers');
if (!Number.isInteger(MASS) || MASS < 0 || !Number.isInteger(SERVICES) || SERVICES <= 0) throw new Error('--mass, --services: integers');

const loadAtStart = loadAverages();

function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => round1(Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) / 1024);
  return { rssMiB: kb('VmRSS'), anonMiB: kb('RssAnon'), fileMiB: kb('RssFile'), hwmMiB: kb('VmHWM') };
}

/**
 * Where the anonymous memory is, from /proc/PID/smaps: the brk heap (malloc's
 * main arena), malloc's thread arenas (64 MiB reservations), thread stacks,
 * and the rest (mostly V8's heap pages).
 */
function anonBreakdown(pid: number) {
  const maps: { kb: number; perms: string; name: string; anonKb: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      maps.push({ kb: (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024, perms: head[3]!, name: head[4] ?? '', anonKb: 0 });
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && maps.length > 0) maps.at(-1)!.anonKb += Number(anon[1]);
  }
  const out = { mallocHeapMiB: 0, mallocThreadArenasMiB: 0, stacksMiB: 0, otherAnonMiB: 0 };
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i]!;
    const next = maps[i + 1];
    const mib = m.anonKb / 1024;
    if (m.name === '[heap]') out.mallocHeapMiB += mib;
    else if (m.name.startsWith('[stack')) out.stacksMiB += mib;
    // glibc's per-thread arenas: a 64 MiB reservation, the used part rw, the rest ---p.
    else if (m.name === '' && next && next.perms === '---p' && next.name === '' && m.kb + next.kb === 65536) out.mallocThreadArenasMiB += mib;
    else out.otherAnonMiB += mib;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, round1(v)]));
}

function pidsNamed(names: ReadonlySet<string>): number[] {
  const out: number[] = [];
  for (const e of readdirSyncSafe('/proc')) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (names.has(comm) && state !== 'Z') out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}
function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const cleanups: (() => Promise<unknown>)[] = [];
  const tmp = await makeTempDir('repair-memory');
  let names = new Set<string>();
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => progress(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
    for (const pid of pidsNamed(names)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (!process.env.BENCH_KEEP_TMP) await tmp.remove().catch(() => undefined);
    else progress(`kept ${tmp.path}`);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().then(() => process.exit(130)));
  try {
    const bin = join(tmp.path, 'bin');
    await mkdir(bin);
    const list: string[] = [];
    for (let i = 0; i < SERVICES; i++) {
      const n = `r${process.pid % 10000}-${String(i).padStart(3, '0')}`;
      await copyFile('/bin/sleep', join(bin, n));
      await chmod(join(bin, n), 0o755);
      list.push(n);
    }
    names = new Set(list);
    const { pool, grpcPort } = await repairBackend('repmem', cleanups);
    const ids = list.map((_, i) => i + 1);
    await pool.query('INSERT INTO PROCESE (process_id, process_name) VALUES ?', [ids.map((id, i) => [id, list[i]])]);
    await pool.query('INSERT INTO STATUS_PROCESS (process_id, alarma, sound) VALUES ?', [ids.map((id) => [id, 0, 0])]);
    const aconf = join(tmp.path, 'agent.ini');
    await writeFile(
      aconf,
      ini({
        agent: { controller: `127.0.0.1:${grpcPort}`, host_id: 'repmem', state_dir: join(tmp.path, 'state') },
        tls: { insecure: true },
        // info: what a production agent logs (every job and step).
        logging: { level: 'info', file: join(tmp.path, 'agent-file.log') },
        'process.default': { restart_strategy: 'process', watch: true, watch_interval: 1, watch_failures: 1 },
        ...Object.fromEntries(list.map((n) => [`process.${n}`, { start_command: `${join(bin, n)} infinity` }])),
      }),
    );
    const flags = [...AGENT_FLAGS, ...(args.snapshots ? ['--heapsnapshot-signal=SIGUSR2'] : [])];
    const agent = ManagedProcess.start(process.execPath, [...flags, AGENT_MAIN, '--config', aconf], {
      name: 'agent',
      logDir: tmp.path,
      maxLines: 200,
      cwd: tmp.path,
    });
    cleanups.push(() => agent.stop('SIGTERM', 10_000).catch(() => agent.stop('SIGKILL')));
    await agent.waitForLine((_, j) => j?.msg === 'connected to controller', 120_000, 'agent connects');
    await sleep(500);

    const allCleared = async () => {
      const [rows] = await pool.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE alarma <> 0');
      return Number(rows[0]!.n) === 0;
    };
    const waitCleared = async (what: string, ms = 120_000) => {
      const until = Date.now() + ms;
      while (!(await allCleared())) {
        if (Date.now() > until) throw new Error(`${what}: alarms not cleared within ${ms} ms\n${agent.tail()}`);
        await sleep(50);
      }
    };
    const allUp = () => pidsNamed(names).length >= SERVICES;
    const waitUp = async (what: string, ms = 120_000) => {
      const until = Date.now() + ms;
      while (!allUp()) {
        if (Date.now() > until) throw new Error(`${what}: services not all up within ${ms} ms\n${agent.tail()}`);
        await sleep(50);
      }
    };
    let repairs = 0;
    const wave = async () => {
      await pool.query('UPDATE STATUS_PROCESS SET alarma = 1');
      await sleep(300);
      await waitCleared(`wave after ${repairs} repairs`);
      repairs += SERVICES;
    };
    const massFailure = async () => {
      const victims = pidsNamed(names);
      for (const pid of victims) process.kill(pid, 'SIGKILL');
      // The watch sees each exit, raises the alarm through the controller, which repairs it.
      await sleep(300);
      await waitUp(`mass failure after ${repairs} repairs`);
      await waitCleared(`mass failure after ${repairs} repairs`);
      repairs += victims.length;
    };
    let snapshotsTaken = 0;
    const plateau = async (label: string) => {
      await sleep(SETTLE_S * 1000);
      const m = { ...memory(agent.pid!), anon: anonBreakdown(agent.pid!) };
      let snapshot: string | undefined;
      if (args.snapshots) {
        const before = new Set(await readdir(tmp.path));
        process.kill(agent.pid!, 'SIGUSR2');
        for (let i = 0; i < 600 && !snapshot; i++) {
          await sleep(100);
          snapshot = (await readdir(tmp.path)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
        }
        snapshotsTaken++;
        await sleep(2_000); // the snapshot is written in pieces; let it finish
      }
      const row = {
        at: label,
        repairs,
        elapsedS: Math.round((Date.now() - started) / 1000),
        load1: round1(loadavg()[0]!),
        ...m,
        ...(snapshot ? { snapshot: join(tmp.path, snapshot) } : {}),
      };
      progress(`${label}: ${JSON.stringify(row)}`);
      return row;
    };

    // The controller has the agent start every service: the agent is their parent.
    await pool.query('UPDATE STATUS_PROCESS SET alarma = 1');
    await waitUp('initial start');
    await waitCleared('initial start');
    const rows = [await plateau('fresh')];
    const repairSeconds: number[] = [];
    let massDone = 0;
    for (const target of PLATEAUS) {
      while (repairs < target) {
        const t0 = Date.now();
        // The mass failures are spread over the first plateau.
        if (massDone < MASS && repairs >= (massDone * PLATEAUS[0]!) / Math.max(MASS, 1)) {
          await massFailure();
          massDone++;
        } else {
          await wave();
        }
        repairSeconds.push((Date.now() - t0) / 1000);
        if (repairs % 500 < SERVICES) progress(`${repairs} repairs (${massDone} mass failures)`);
      }
      rows.push(await plateau(`after ${repairs} repairs`));
    }
    const report = {
      bench: 'agent-repair-memory',
      at: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: round1(totalmem() / 2 ** 30),
        kernel: release(),
        node: process.version,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAverages(),
      },
      setup: {
        services: SERVICES,
        plateaus: PLATEAUS,
        massFailures: MASS,
        settleSeconds: SETTLE_S,
        agentNodeFlags: AGENT_FLAGS,
        logging: 'info, stdout + file',
        repairsPerWave: SERVICES,
      },
      targets: { rssAfterFirstPlateauMiB: 60, growthBetweenPlateausMiB: 0, freshMiB: 50 },
      plateaus: rows,
      growthMiB: rows.length > 2 ? round1(rows.at(-1)!.rssMiB - rows[1]!.rssMiB) : null,
      waveSeconds: { n: repairSeconds.length, mean: round1(repairSeconds.reduce((a, b) => a + b, 0) / Math.max(1, repairSeconds.length)) },
      snapshots: snapshotsTaken,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

await main();
