#!/usr/bin/env -S node --import tsx
/**
 * bench/dbus-unit-detection: how fast a killed systemd unit is found and
 * repaired, through D-Bus signals and by polling, on one real Debian systemd
 * host (nspawn; root, as the fleet tests). The packaged agent runs under its
 * shipped unit (unprivileged, polkit rule), the controller in the same host
 * (test/fleet/support/unit-watch-host.ts).
 *
 * Each sample: the unit's main process is SIGKILLed (Restart=no) from the
 * bench process (found by its pid namespace and NSpid), stamped just before
 * kill(2) with the wall clock and CLOCK_MONOTONIC;
 * - detectMs: the agent's `watched service failing` log record (its `time`)
 *   minus the kill;
 * - backMs: systemd's ExecMainStartTimestampMonotonic of the new main
 *   process minus the kill (same monotonic clock: nspawn shares it);
 * - clearedMs: the moment the bench saw STATUS_PROCESS.alarma back at 0
 *   (polled every 25 ms) minus the kill.
 * Modes, one after the other on the same host:
 *   dbus  watch_interval = 3600, watch_failures = 3: only the D-Bus signal finds it;
 *   poll  agent.systemd_dbus = false, watch_interval = 1, watch_failures = 1 (today's polling at its quickest usual setting).
 *
 *   sudo node --import tsx bench/dbus-unit-detection.ts [--kills 10]
 *
 * Needs `npx turbo run build` first and the fleet rootfs (built on first use).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cleanup, waitFor } from '@smgr/testing';
import { AGENT_UNIT, agentIni, agentLog, startUnitWatchHost, UNIT, type UnitWatchHost } from '../test/fleet/support/unit-watch-host.js';
import { benchArgs, hostFields, loadAverages } from './bench-support.js';

const args = benchArgs({ kills: '10' });
const KILLS = Number(args.kills);
const progress = (m: string) => process.stderr.write(`# ${m}\n`);
const loadAtStart = loadAverages();

interface Sample {
  detectMs: number;
  backMs: number;
  clearedMs: number;
  detectedBy: unknown;
}

async function killOnce(h: UnitWatchHost): Promise<Sample> {
  const before = await h.mainPid();
  if (before <= 0) throw new Error(`${UNIT} does not run`);
  const mark = (await agentLog(h.host)).length;
  // Killed from here, by its pid in this namespace: an nsenter'd kill would add its own start-up (100-300 ms under load) to every figure.
  const outer = outerPid(h, before);
  const wall = Date.now();
  const mono = process.hrtime.bigint();
  process.kill(outer, 'SIGKILL');
  let raised = false;
  const clearedAt = await waitFor(
    async () => {
      const [s] = await h.db.query<{ alarma: number }>('SELECT alarma FROM STATUS_PROCESS WHERE process_id = 1');
      if (Number(s?.alarma) === 1) raised = true;
      return raised && Number(s?.alarma) === 0 ? Date.now() : null;
    },
    { timeoutMs: 120_000, intervalMs: 25, message: 'alarm raised and cleared' },
  );
  const props = await h.host.systemctl('show', '--property=MainPID,ExecMainStartTimestampMonotonic,ActiveState', UNIT);
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(props)?.[1] ?? '';
  if (get('ActiveState') !== 'active' || Number(get('MainPID')) === before) throw new Error(`not repaired: ${props}`);
  const failing = (await agentLog(h.host)).slice(mark).find((j) => j.msg === 'watched service failing');
  if (!failing) throw new Error('no "watched service failing" record');
  return {
    detectMs: Number(failing.time) - wall,
    backMs: Number(BigInt(get('ExecMainStartTimestampMonotonic')) * 1000n - mono) / 1e6,
    clearedMs: clearedAt - wall,
    detectedBy: failing.detectedBy,
  };
}

/** The unit's main process as this namespace numbers it: in the host's pid namespace, with that pid as its last NSpid. */
function outerPid(h: UnitWatchHost, inner: number): number {
  const ns = readlinkSync(`/proc/${h.host.leaderPid}/ns/pid`);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      const ids = /^NSpid:\s+(.*)$/m
        .exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]
        ?.trim()
        .split(/\s+/)
        .map(Number);
      if (ids?.at(-1) === inner) return Number(d);
    } catch {
      // exited while we looked
    }
  }
  throw new Error(`no process with pid ${inner} in the host's pid namespace`);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: s.length, median: r(at(0.5)), p90: r(at(0.9)), min: r(s[0]!), max: r(s.at(-1)!) };
};

async function mode(h: UnitWatchHost, name: string, ini: string): Promise<Record<string, unknown>> {
  await h.host.exec(['tee', '/etc/smgr/agent.ini'], { input: ini });
  const mark = (await agentLog(h.host)).length;
  await h.host.systemctl('restart', AGENT_UNIT);
  await waitFor(async () => (await agentLog(h.host)).slice(mark).some((j) => j.msg === 'connected to controller'), {
    timeoutMs: 60_000,
    intervalMs: 250,
    message: 'agent connected',
  });
  if (name === 'dbus') {
    await waitFor(async () => (await agentLog(h.host)).slice(mark).some((j) => j.msg === 'watching systemd units over D-Bus (PropertiesChanged)'), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: 'D-Bus subscribed',
    });
  }
  const samples: Sample[] = [];
  for (let i = 0; i < KILLS; i++) {
    samples.push(await killOnce(h));
    progress(`${name} ${i + 1}/${KILLS}: ${JSON.stringify(samples.at(-1))}`);
    // The repair's own checks and the next round settle before the next kill.
    await sleep(1_500);
  }
  return {
    detectedBy: [...new Set(samples.map((s) => s.detectedBy))],
    detectMs: stats(samples.map((s) => s.detectMs)),
    backMs: stats(samples.map((s) => s.backMs)),
    clearedMs: stats(samples.map((s) => s.clearedMs)),
    samples,
  };
}

const cleanup = new Cleanup();
try {
  const h = await startUnitWatchHost(cleanup, { name: 'smgr-dbusb', watchInterval: 3600, log: progress });
  const dbus = await mode(h, 'dbus', agentIni(3600));
  const poll = await mode(h, 'poll', agentIni(1, { watchFailures: 1, agent: 'systemd_dbus = false' }));
  const loadAtEnd = loadAverages();
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'dbus-unit-detection',
        units: 'ms from the kill (see the header of bench/dbus-unit-detection.ts)',
        kills: KILLS,
        machine: { ...hostFields(), memMiB: Math.round(totalmem() / 2 ** 20), loadavgAtStart: loadAtStart, loadavgAtEnd: loadAtEnd },
        modes: { dbus, poll },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  await cleanup.run();
}
