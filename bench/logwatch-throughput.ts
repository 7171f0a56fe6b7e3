#!/usr/bin/env -S node --import tsx
/**
 * bench/logwatch-throughput: an agent following a log file written at
 * --rate MB/s for --seconds (issue 13: 10 MB/s for 30 s), with one
 * [log_rule.NAME] on it (RE2 pattern, count 5 in 60 s, event only).
 *
 * The agent (compiled JS, what the tests run) starts with no controller
 * reachable: log rules work without one (events wait in its outbox). The
 * bench appends ~120-byte lines in 50 ms slices, one in every 1,000 matching,
 * samples the agent's /proc/PID/status (VmRSS) and CPU (utime+stime) every
 * second, and prints one JSON object: RSS idle, max and end; CPU as a
 * percentage of one core while writing; the rule's triggers seen (agent log
 * "log rule matched") against those expected; bytes skipped because the
 * reader fell behind ("skipped to its end" warnings).
 *
 *   node --import tsx bench/logwatch-throughput.ts [--rate 10] [--seconds 30] [--variant dist|shipped] [--node-flags="--max-semi-space-size=1"]
 *
 * --variant dist (default) runs services/agent/dist/main.js with --node-flags;
 * shipped runs the esbuild bundle as scripts/package.mjs makes it, with the
 * packaged agent's node flags (SHIPPED_FLAGS) unless --node-flags is given.
 *
 * Needs `npx turbo run build` first.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { Cleanup, freePort, makeTempDir, ManagedProcess } from '@smgr/testing';
import { CLK_TCK } from './agent-bench-support.js';
import { benchArgs, bundleShippedAgent, hostFields, ROOT, sleep } from './bench-support.js';

const args = benchArgs({ rate: '10', seconds: '30', variant: 'dist', 'node-flags': undefined });
const rateMBs = Number(args.rate);
/** The agent's node flags in scripts/package.mjs (its systemd unit runs the bundle with them). */
const SHIPPED_FLAGS = '--lite-mode --no-expose-wasm --max-semi-space-size=1';
const variant = args.variant;
if (variant !== 'dist' && variant !== 'shipped') throw new Error('--variant is dist or shipped');
const nodeFlags = (args['node-flags'] ?? (variant === 'shipped' ? SHIPPED_FLAGS : '')).split(' ').filter(Boolean);

const seconds = Number(args.seconds);
const SLICE_MS = 50;
const MATCH_EVERY = 1_000;
const COUNT = 5;

function proc(pid: number): { rssKiB: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const dir = await makeTempDir('logbench');
    cleanup.add(() => dir.remove(), 'temp dir');
    const logFile = join(dir.path, 'app.log');
    await writeFile(logFile, '');
    const config = join(dir.path, 'agent.ini');
    await writeFile(
      config,
      [
        '[agent]',
        `controller = 127.0.0.1:${await freePort()}`,
        'host_id = bench',
        `state_dir = ${join(dir.path, 'state')}`,
        '[tls]',
        'insecure = true',
        '[logging]',
        'level = info',
        '[process.benchsvc]',
        'restart_strategy = process',
        'start_command = true',
        '[log_rule.timeouts]',
        'process = benchsvc',
        `file[] = ${logFile}`,
        'pattern = ERROR .*upstream timed out after [0-9]+ ms',
        `count = ${COUNT}`,
        'window = 60',
        'on_match = event',
        '',
      ].join('\n'),
    );
    const entry = variant === 'shipped' ? await bundleShippedAgent(dir.path) : join(ROOT, 'services/agent/dist/main.js');
    const agent = ManagedProcess.start(process.execPath, [...nodeFlags, entry, '--config', config], {
      name: 'agent-logbench',
      maxLines: 100_000,
    });
    cleanup.add(() => agent.stop(), 'agent');
    await agent.waitForLine((_l, j) => j?.msg === 'log rules following their files', 30_000, 'log rules following');
    await sleep(2_000);
    const idle = proc(agent.pid!);

    const plain = 'INFO GET /api/v1/items?page=17 200 12ms upstream=10.1.2.3:8080 user=alice agent="curl/8.5" ';
    const match = 'ERROR GET /api/v1/items 504 upstream timed out after 3000 ms upstream=10.1.2.3:8080     ';
    const lineBytes = plain.length + 1;
    const linesPerSlice = Math.round((rateMBs * 1024 * 1024 * SLICE_MS) / 1000 / lineBytes);
    let written = 0;
    let matches = 0;
    let lineNo = 0;
    const samples: { t: number; rssKiB: number }[] = [];
    let maxRss = idle.rssKiB;
    const t0 = Date.now();
    const cpu0 = proc(agent.pid!).cpuTicks;
    let nextSample = t0;
    let lateSlices = 0;
    for (let slice = 0; Date.now() - t0 < seconds * 1000; slice += 1) {
      const due = t0 + slice * SLICE_MS;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -SLICE_MS) lateSlices += 1;
      const parts: string[] = [];
      for (let i = 0; i < linesPerSlice; i += 1) {
        lineNo += 1;
        const m = lineNo % MATCH_EVERY === 0;
        if (m) matches += 1;
        parts.push(m ? match : plain);
      }
      const text = `${parts.join('\n')}\n`;
      await appendFile(logFile, text);
      written += text.length;
      if (Date.now() >= nextSample) {
        const p = proc(agent.pid!);
        samples.push({ t: Math.round((Date.now() - t0) / 100) / 10, rssKiB: p.rssKiB });
        maxRss = Math.max(maxRss, p.rssKiB);
        nextSample += 1000;
      }
    }
    const elapsed = (Date.now() - t0) / 1000;
    const cpu1 = proc(agent.pid!).cpuTicks;
    // Let the reader catch up, then count what it saw.
    await sleep(3_000);
    const end = proc(agent.pid!);
    maxRss = Math.max(maxRss, end.rssKiB);
    const records = agent.jsonLines();
    const triggers = records.filter((r) => r.msg === 'log rule matched').length;
    const skipped = records
      .filter((r) => r.msg === 'log file written faster than it can be read; skipped to its end')
      .reduce((n, r) => n + Number(r.skippedBytes ?? 0), 0);
    const report = {
      bench: 'logwatch-throughput',
      machine: { ...hostFields(), memGiB: Math.round(totalmem() / 2 ** 30), loadavg: loadavg() },
      settings: { variant, nodeFlags, rateMBs, seconds, lineBytes, matchEvery: MATCH_EVERY, count: COUNT, sliceMs: SLICE_MS },
      written: {
        bytes: written,
        MB: Math.round((written / 2 ** 20) * 10) / 10,
        achievedMBs: Math.round((written / 2 ** 20 / elapsed) * 100) / 100,
        matchingLines: matches,
        lateSlices,
      },
      agent: {
        rssIdleMiB: Math.round((idle.rssKiB / 1024) * 10) / 10,
        rssMaxMiB: Math.round((maxRss / 1024) * 10) / 10,
        rssEndMiB: Math.round((end.rssKiB / 1024) * 10) / 10,
        cpuPercentOfOneCore: Math.round(((cpu1 - cpu0) / CLK_TCK / elapsed) * 100 * 10) / 10,
        triggersSeen: triggers,
        triggersExpected: Math.floor(matches / COUNT),
        skippedBytes: skipped,
      },
      samples,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cleanup.run();
  }
}

await main();
