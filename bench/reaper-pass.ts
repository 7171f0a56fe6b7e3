#!/usr/bin/env -S node --import tsx
/**
 * bench/reaper-pass: what reaping orphans costs the agent (issue 16).
 *
 * This process takes the agent's OrphanReaper as a child subreaper, as the
 * agent does on a host, adopts --children daemonizing services (copies of
 * /bin/sleep that a shell backgrounds and leaves behind), and measures:
 * - one pass with nothing to reap (what every SIGCHLD and the 5 s sweep cost
 *   while the services live): CPU µs per pass over --passes passes;
 * - reaping: the daemons are killed --rounds times over (re-started each
 *   round), and the CPU of the passes that reaped them is divided by the
 *   number reaped.
 * Prints one JSON object (units in the keys, machine and load average).
 *
 *   node --import tsx bench/reaper-pass.ts [--children 20] [--passes 2000] [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@smgr/shared';
import { OrphanReaper } from '../services/agent/src/init/orphan-reaper.js';
import { benchArgs, loadAverages, round1 } from './bench-support.js';

const args = benchArgs({ children: '20', passes: '2000', rounds: '5' });
const children = Number(args.children);
const passes = Number(args.passes);
const rounds = Number(args.rounds);

const log = await createLogger({
  name: 'bench',
  level: 'warn',
  destination: new Writable({ write: (_c, _e, d) => d() }),
  maxLogSizeBytes: 1 << 20,
  logFilesToKeep: 1,
});
const reaper = new OrphanReaper({ log, subreaper: true });
if (reaper.start() !== 'subreaper') throw new Error('could not become a child subreaper');
const dir = mkdtempSync(join(tmpdir(), 'smgr-bench-reaper-'));
const name = `rb-${process.pid}`;
copyFileSync('/bin/sleep', join(dir, name));
const loadAtStart = loadAverages();

/** Starts `children` orphans of this process; resolves with their pids once re-parented here. */
async function adopt(): Promise<number[]> {
  const out = spawnSync('/bin/sh', ['-c', `for i in $(seq ${children}); do "$0" 600 >/dev/null 2>&1 & echo $!; done`, join(dir, name)], { encoding: 'utf8' });
  const pids = out.stdout.trim().split('\n').map(Number);
  const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  while (!pids.every((p) => ppid(p) === process.pid)) await new Promise((r) => setTimeout(r, 5));
  return pids;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

try {
  const living = await adopt();
  const idle0 = cpuUs();
  for (let i = 0; i < passes; i++) reaper.reapNow();
  const idlePerPassUs = (cpuUs() - idle0) / passes;

  let reaped = 0;
  let reapCpuUs = 0;
  for (let r = 0; r < rounds; r++) {
    const pids = await adopt();
    for (const p of pids) process.kill(p, 'SIGKILL');
    // Wait, with the event loop blocked (so no SIGCHLD pass runs), until all are zombies; then time the pass that reaps them.
    const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0];
    while (!pids.every((p) => state(p) === 'Z')) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    const t0 = cpuUs();
    reaped += reaper.reapNow().length;
    reapCpuUs += cpuUs() - t0;
  }
  // The daemons of the idle measurement: ours, by pid; the reaper collects them.
  for (const p of living) process.kill(p, 'SIGKILL');
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'reaper-pass',
        liveChildren: children,
        passes,
        idlePassCpuUs: round1(idlePerPassUs),
        rounds,
        reaped,
        reapCpuUsPerOrphan: reaped ? round1(reapCpuUs / reaped) : null,
        machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version },
        loadavgAtStart: loadAtStart,
        loadavgAtEnd: loadAverages(),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  reaper.stop();
  rmSync(dir, { recursive: true, force: true });
}
