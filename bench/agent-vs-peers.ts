#!/usr/bin/env -S node --import tsx
/**
 * bench/agent-vs-peers (issue 12): smgr, Monit and supervisord side by side,
 * in one run, on this machine.
 *
 * Each tool supervises its own set of services: copies of /bin/sleep under
 * names unique to the tool (the sets never overlap). smgr: a real throwaway
 * MariaDB + Redis, the compiled controller and agent, services with
 * restart_strategy = process and watch = true, watch_interval = 1,
 * watch_failures = 1, PROCESE/STATUS_PROCESS rows so repairs go through the
 * controller; the agent starts the services itself (one alarm each at the
 * start), so it is their parent. supervisord: `[program:x]` with autorestart.
 * Monit: `check process x matching` with `start program`, `set daemon 1`.
 * Peers run with their own config files, sockets and state under a temp dir.
 *
 * Measures (kills stamped right before kill(2); "back" = the kernel's start
 * time of the new process under the service's name, /proc/PID/stat starttime,
 * 10 ms ticks; "seen" = when polling /proc every 3 ms first saw it):
 *   1. one service killed -> back, K times per tool, interleaved;
 *   2. 20 killed at once -> all back, a few rounds per tool;
 *   3. --mass M: M killed at once, each tool on a second instance with M services;
 *   4. RSS of each supervisor process: fresh, after the failures, after 60 s idle;
 *   5. idle CPU (% of one core, utime+stime) over a window, 20 services watched.
 *
 *   node --import tsx bench/agent-vs-peers.ts [--quick] [--mass 200] [--kills K] [--rounds R] [--watch-repair controller|agent]
 *
 * Needs `npm run build` first; installs nothing (apt-get install -y monit supervisor).
 * A missing peer is reported and the others still run.
 */
import { copyFile, chmod, mkdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeTempDir, type TempDir } from '@smgr/testing';
import { percentile } from './controller-bench-support.js';
import { benchArgs, hostFields, loadAverages, progress, round1, round3, sleep } from './bench-support.js';
import { PeerKills, POLL_MS } from './peer-kills.js';
import { bootOffsetMs, cpuSeconds, nowMs, ProcScan, stats, type Live } from './peer-procs.js';
import { cleanups, monit, smgrTool, supervisord, which, type Instance, type ToolDef } from './peer-tools.js';

const args = benchArgs({
  quick: false,
  mass: undefined,
  kills: undefined,
  rounds: undefined,
  services: '20',
  'idle-seconds': undefined,
  // Quiet time before the idle window: smgr's agent runs one full GC 10 s after a burst goes quiet (memory/idle-trim.ts), a one-off, not idle work.
  'idle-settle-seconds': '12',
  // The packaged smgr-agent launcher's node flags (scripts/package.mjs).
  'agent-flags': '--lite-mode --no-expose-wasm --max-semi-space-size=1',
  tools: 'smgr,supervisord,monit',
  // process.watch_repair of smgr's services: controller (report → alarm → repair job) or agent (restart at once, then report).
  'watch-repair': 'controller',
});
const quick = args.quick;
const WATCH_REPAIR = args['watch-repair'];
if (WATCH_REPAIR !== 'controller' && WATCH_REPAIR !== 'agent')
  throw new Error(`--watch-repair must be controller or agent, not ${JSON.stringify(WATCH_REPAIR)}`);
const SERVICES = Number(args.services);
const KILLS = Number(args.kills ?? (quick ? 5 : 20));
const ROUNDS = Number(args.rounds ?? (quick ? 2 : 4));
const MASS = args.mass === undefined ? 0 : Number(args.mass);
const IDLE_S = Number(args['idle-seconds'] ?? (quick ? 15 : 60));
const IDLE_SETTLE_S = Number(args['idle-settle-seconds']);
const AGENT_FLAGS = args['agent-flags'].split(/\s+/).filter(Boolean);
const TOOLS = args.tools.split(',').map((s) => s.trim());
for (const [k, v] of Object.entries({ services: SERVICES, kills: KILLS, rounds: ROUNDS, 'idle-seconds': IDLE_S })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive integer, got ${String(v)}`);
}
if (!Number.isInteger(MASS) || MASS < 0) throw new Error(`--mass must be a positive integer, got ${args.mass}`);

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpuSecondsOf = (pid: number) => cpuSeconds(pid, CLK_TCK);
const loadAtStart = loadAverages();

// ---------------------------------------------------------------------------
// Clocks and /proc

let BOOT_OFFSET = 0;
/** First letter of each tool's service names, so the sets never overlap. */
const PREFIX: Record<string, string> = { smgr: 'a', supervisord: 'v', monit: 'm' };
/** Every service name of the run, all tools. */
const everyName = new Set<string>();

const procs = new ProcScan(everyName, CLK_TCK, () => BOOT_OFFSET);
const kills = new PeerKills(procs);

function pick<T>(xs: readonly T[], n: number, offset: number): T[] {
  return Array.from({ length: Math.min(n, xs.length) }, (_, i) => xs[(offset + i) % xs.length]!);
}

// ---------------------------------------------------------------------------
// Tools

async function installServices(bin: string, prefix: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}${String(i).padStart(3, '0')}`;
    if (name.length > 15) throw new Error(`service name ${name} is longer than the kernel's 15-byte comm`);
    await copyFile('/bin/sleep', join(bin, name));
    await chmod(join(bin, name), 0o755);
    names.push(name);
    everyName.add(name);
  }
  return names;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  let tmp: TempDir | null = null;
  const report: Record<string, unknown> = {};
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((e) => progress(`cleanup: ${(e as Error).message}`));
    cleanups.length = 0;
    // Services the supervisors started and left behind (smgr's agent leaves them running by design).
    kills.killAll(everyName);
    if (tmp && !process.env.BENCH_KEEP_TMP) await tmp.remove().catch(() => undefined);
    else if (tmp) progress(`kept ${tmp.path}`);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().then(() => process.exit(130)));
  const started = Date.now();
  try {
    BOOT_OFFSET = bootOffsetMs();
    tmp = await makeTempDir('peers');
    const bin = join(tmp.path, 'bin');
    await mkdir(bin);
    const tag = randomBytes(2).toString('hex');
    const defs = [smgrTool(AGENT_FLAGS, WATCH_REPAIR), supervisord, monit].filter((d) => TOOLS.includes(d.name));
    const missing: Record<string, string> = {};
    const versions: Record<string, string> = {};
    const usable: ToolDef[] = [];
    for (const d of defs) {
      const v = d.name === 'smgr' ? d.version() : which(d.name) ? d.version() : null;
      if (v === null) {
        missing[d.name] = `${d.name} is not installed (apt-get install -y ${d.name === 'supervisord' ? 'supervisor' : d.name}); measured without it`;
        progress(`MISSING: ${missing[d.name]}`);
      } else {
        versions[d.name] = v;
        usable.push(d);
      }
    }

    // --- start the main instances (SERVICES each)
    const main = new Map<string, Instance>();
    for (const d of usable) {
      const names = await installServices(bin, `${PREFIX[d.name]}${tag}-`, SERVICES);
      progress(`starting ${d.name} with ${names.length} services`);
      main.set(d.name, await d.start(`${d.name}-main`, names, bin, tmp.path));
    }
    const current = new Map<string, Map<string, Live>>();
    for (const [t, inst] of main) current.set(t, await kills.waitAllUp(inst, 180_000));
    await sleep(2_000);
    const rssFresh = Object.fromEntries([...main].map(([t, inst]) => [t, kills.supervisorRss(inst)]));
    progress(`fresh RSS ${JSON.stringify(rssFresh)}`);

    // --- (1) one service killed -> back, interleaved
    const single: Record<string, { back: number[]; seen: number[]; missing: number }> = {};
    for (const t of main.keys()) single[t] = { back: [], seen: [], missing: 0 };
    for (let k = 0; k < KILLS; k++) {
      for (const [t, inst] of main) {
        const up = await kills.waitAllUp(inst, 60_000);
        const name = inst.names[k % inst.names.length]!;
        const r = await kills.killAndWatch(new Map([[name, up.get(name)!]]), 20_000);
        if (r.missing.length) single[t]!.missing++;
        else {
          single[t]!.back.push(r.backMs.get(name)!);
          single[t]!.seen.push(r.seenMs.get(name)!);
        }
        await sleep(300 + Math.random() * 400);
      }
      progress(`single kill ${k + 1}/${KILLS}: ${[...main.keys()].map((t) => `${t} ${round1(single[t]!.back.at(-1) ?? NaN)} ms`).join(', ')}`);
    }

    // --- (2) all SERVICES killed at once -> all back, a few rounds
    const burst: Record<string, { rounds: Record<string, unknown>[]; back: number[] }> = {};
    for (const t of main.keys()) burst[t] = { rounds: [], back: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [t, inst] of main) {
        const up = await kills.waitAllUp(inst, 120_000);
        await sleep(500);
        const res = await kills.killAndWatch(new Map(pick(inst.names, SERVICES, 0).map((n) => [n, up.get(n)!])), 60_000);
        const back = [...res.backMs.values()];
        burst[t]!.back.push(...back);
        burst[t]!.rounds.push({
          medianMs: round1(percentile(back, 50)),
          allBackMs: round1(Math.max(...back)),
          firstBackMs: round1(Math.min(...back)),
          missing: res.missing.length,
        });
        progress(
          `burst ${r + 1}/${ROUNDS} ${t}: median ${round1(percentile(back, 50))} ms, all back ${round1(Math.max(...back))} ms, missing ${res.missing.length}`,
        );
      }
    }

    // --- (3) --mass M: a second instance per tool with M services, all killed at once
    const mass: Record<string, unknown> = {};
    if (MASS > 0) {
      for (const d of usable) {
        const names = await installServices(bin, `${PREFIX[d.name]}${tag}m`, MASS);
        progress(`mass: starting ${d.name} with ${MASS} services`);
        const inst = await d.start(`${d.name}-mass`, names, bin, tmp.path);
        try {
          let up: Map<string, Live>;
          try {
            up = await kills.waitAllUp(inst, 300_000);
          } catch (err) {
            // A tool that cannot bring its M services up is a result, not a reason to lose the others' figures.
            mass[d.name] = { services: MASS, notStarted: (err as Error).message };
            progress(`mass ${d.name}: not measured: ${(err as Error).message}`);
            continue;
          }
          await sleep(2_000);
          const fresh = kills.supervisorRss(inst);
          const res = await kills.killAndWatch(up, Math.max(60_000, MASS * 500));
          const back = [...res.backMs.values()];
          await kills.waitAllUp(inst, 120_000).catch(() => undefined);
          await sleep(1_000);
          mass[d.name] = {
            services: MASS,
            back: stats(back),
            allBackMs: res.missing.length ? null : round1(Math.max(...back)),
            missing: res.missing.length,
            rssFresh: fresh,
            rssAfter: kills.supervisorRss(inst),
          };
          progress(`mass ${d.name}: median ${round1(percentile(back, 50))} ms, all back ${round1(Math.max(...back))} ms, missing ${res.missing.length}`);
        } finally {
          await inst.stop().catch(() => undefined);
          kills.killAll(names);
        }
      }
    }

    for (const inst of main.values()) await kills.waitAllUp(inst, 60_000).catch(() => undefined);
    await sleep(2_000);
    const rssAfterFailures = Object.fromEntries([...main].map(([t, inst]) => [t, kills.supervisorRss(inst)]));

    // --- (5) idle CPU with SERVICES watched, and (4) RSS after 60 s idle
    progress(`settling ${IDLE_SETTLE_S} s, then an idle window of ${IDLE_S} s`);
    await sleep(IDLE_SETTLE_S * 1000);
    const cpu0 = [...main].map(([t, inst]) => [t, inst.measured.map((m) => cpuSecondsOf(m.pid))] as const);
    const t0 = nowMs();
    await sleep(IDLE_S * 1000);
    const windowS = (nowMs() - t0) / 1000;
    const idleCpu = Object.fromEntries(
      cpu0.map(([t, before]) => {
        const inst = main.get(t)!;
        return [t, Object.fromEntries(inst.measured.map((m, i) => [`${m.role}Percent`, round3(((cpuSecondsOf(m.pid) - before[i]!) / windowS) * 100)]))];
      }),
    );
    const rssAfterIdle = quick ? null : Object.fromEntries([...main].map(([t, inst]) => [t, kills.supervisorRss(inst)]));

    Object.assign(report, {
      bench: 'agent-vs-peers',
      at: new Date().toISOString(),
      quick,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      machine: {
        ...hostFields(),
        memoryMiB: Math.round(totalmem() / 1048576),
        loadavgAtStart: loadAtStart,
        loadavgAtEnd: loadAverages(),
        note: 'load averages above the CPU count mean every figure was measured under load',
      },
      versions,
      missing,
      setup: {
        servicesPerTool: SERVICES,
        singleKillsPerTool: KILLS,
        burstRounds: ROUNDS,
        mass: MASS || null,
        idleWindowSeconds: round1(windowS),
        idleSettleSeconds: IDLE_SETTLE_S,
        pollEveryMs: { upTo20Victims: POLL_MS, more: 25 },
        clockTicksPerSecond: CLK_TCK,
        smgr: {
          restart_strategy: 'process',
          watch_interval: 1,
          watch_failures: 1,
          watch_repair: WATCH_REPAIR,
          check_interval: 0.2,
          agentNodeFlags: AGENT_FLAGS,
        },
        supervisord: { autorestart: true, startsecs: 0 },
        monit: { daemon: 1, check: 'process … matching + start program' },
        backMeans: 'kernel start time of the new process (/proc/PID/stat starttime, 10 ms ticks) minus the moment right before kill(2)',
        seenMeans: 'when polling /proc (every 3 ms; 25 ms for more than 20 victims) first saw the new process under the name, minus the same moment',
      },
      targets: {
        singleKillMedianMs: 100,
        burst20MedianMs: 300,
        mass200AllBackMs: 2000,
        agentRssFreshMiB: 50,
        agentRssAfterFailuresMiB: 60,
        idleCpuPercentOfOneCore: 0.1,
      },
      singleKill: Object.fromEntries(Object.entries(single).map(([t, s]) => [t, { back: stats(s.back), seen: stats(s.seen), missing: s.missing }])),
      burst: Object.fromEntries(Object.entries(burst).map(([t, b]) => [t, { services: SERVICES, perService: stats(b.back), rounds: b.rounds }])),
      mass: MASS > 0 ? mass : 'not run (use --mass 200)',
      rss: { unit: 'MiB (VmRSS)', fresh: rssFresh, afterFailures: rssAfterFailures, after60sIdle: rssAfterIdle ?? 'skipped with --quick' },
      idleCpu: { unit: 'percent of one core (utime+stime)', services: SERVICES, windowSeconds: round1(windowS), ...idleCpu },
    });
  } finally {
    await stopAll();
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
