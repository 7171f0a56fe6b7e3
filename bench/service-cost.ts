#!/usr/bin/env -S node --import tsx
/**
 * bench/service-cost: what reporting what each service costs (issue 16)
 * costs the agent.
 *
 * Starts a throwaway MariaDB + Redis, a controller, N running services
 * (copies of /bin/sleep under unique names) and two agents side by side,
 * both watching all N services every --watch-interval seconds, differing in
 * one setting: `agent.service_usage = true` (sample every service once per
 * watch round and send the report) and `false` (no sampling, no report).
 * Once both are connected and have sent a round, it measures each agent's
 * utime+stime (/proc/PID/stat) over the same --seconds window and prints one
 * JSON object with both, their difference and whether it is within the
 * target: at most 0.05 % of one core more with reporting.
 *
 * It also times the sampler alone in this process (ResourceSampler.sample
 * over the same N services, --micro-rounds times) for a figure free of the
 * two agents' GC and event-loop noise: ms per round, and that as a percentage
 * of one core at the watch interval.
 *
 *   node --import tsx bench/service-cost.ts [--seconds 300] [--services 20] [--watch-interval 10]
 *
 * Needs `npx turbo run build` first.
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '@smgr/shared';
import { ManagedProcess } from '@smgr/testing';
import { agentBenchStack, CLK_TCK, cpuTicks, machineInfo, positiveNumbers, startSleepServices, watchingAgentIni, withCleanup } from './agent-bench-support.js';
import { ResourceSampler } from '../services/agent/dist/usage/resource-sampler.js';
import { ProcessNames } from '../services/agent/dist/exec/process-names.js';

const ROOT = resolve(import.meta.dirname, '..');
const TARGET_EXTRA_PERCENT = 0.05;

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '300' },
    services: { type: 'string', default: '20' },
    'watch-interval': { type: 'string', default: '10' },
    'micro-rounds': { type: 'string', default: '2000' },
  },
  strict: true,
});
const {
  seconds,
  services: serviceCount,
  'watch-interval': watchInterval,
  'micro-rounds': microRounds,
} = positiveNumbers({ seconds: args.seconds, services: args.services, 'watch-interval': args['watch-interval'], 'micro-rounds': args['micro-rounds'] });

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The sampler alone: ms per round over `names`, CPU time of this process. */
function microBench(names: string[]): { msPerRound: number; percentOfOneCoreAtInterval: number } {
  const cfg = loadConfig({ overrides: ['tls.insecure=true', ...names.map((n) => `process.${n}.restart_strategy=process`)] });
  const sampler = new ResourceSampler();
  // The watch round's snapshot is taken anyway for the `pgrep -x` checks: share it as the agent does.
  const snapshot = ProcessNames.capture();
  for (let i = 0; i < 50; i++) sampler.sample(cfg.processes, () => snapshot);
  const before = process.cpuUsage();
  for (let i = 0; i < microRounds; i++) sampler.sample(cfg.processes, () => snapshot);
  const used = process.cpuUsage(before);
  const msPerRound = (used.user + used.system) / 1000 / microRounds;
  return { msPerRound: round3(msPerRound), percentOfOneCoreAtInterval: round3((msPerRound / (watchInterval * 1000)) * 100) };
}

async function main(): Promise<void> {
  await withCleanup(async (cleanup) => {
    const { tmp, grpcPort } = await agentBenchStack(cleanup);
    const names = await startSleepServices(cleanup, tmp.path, serviceCount, 'sc');

    const agents: { reporting: boolean; proc: ManagedProcess }[] = [];
    for (const reporting of [true, false]) {
      const slug = reporting ? 'reporting' : 'silent';
      const ini = join(tmp.path, `agent-${slug}.ini`);
      const stateDir = join(tmp.path, `state-${slug}`);
      // debug for both (the same logging on each side): the reporting agent logs each report it sends, which is how the bench counts rounds.
      const agent = { service_usage: reporting };
      await writeFile(ini, watchingAgentIni({ grpcPort, hostId: `sc-${slug}`, stateDir, dir: tmp.path, names, watchInterval, level: 'debug', agent }));
      const proc = ManagedProcess.start(process.execPath, [join(ROOT, 'services/agent/dist/main.js'), '--config', ini], {
        name: `agent-${slug}`,
        logDir: tmp.path,
      });
      cleanup.add(() => proc.stop(), `agent ${slug}`);
      agents.push({ reporting, proc });
    }
    for (const a of agents) await a.proc.waitForLine((_l, j) => j?.msg === 'connected to controller', 60_000, 'agent connects');
    const reporter = agents[0]!.proc;
    await reporter.waitForLine((_l, j) => j?.msg === 'usage report sent' && j.sent === true, (watchInterval + 30) * 1000, 'a usage report');

    process.stderr.write(`service-cost: 2 agents, ${serviceCount} services, watch every ${watchInterval} s; measuring ${seconds} s\n`);
    const load = { start: loadavg() };
    const start = Date.now();
    const first = agents.map((a) => cpuTicks(a.proc.pid!).own);
    const reportsBefore = reporter.jsonLines().filter((j) => j.msg === 'usage report sent').length;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const windowS = (Date.now() - start) / 1000;
    const used = agents.map((a, i) => (cpuTicks(a.proc.pid!).own - first[i]!) / CLK_TCK);
    const reports = reporter.jsonLines().filter((j) => j.msg === 'usage report sent').length - reportsBefore;
    const pct = used.map((s) => round3((s / windowS) * 100));
    const extra = round3(pct[0]! - pct[1]!);
    const micro = microBench(names);

    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'service-cost',
          at: new Date().toISOString(),
          machine: {
            ...machineInfo(),
            loadAverage: { start: load.start.map(round3), end: loadavg().map(round3) },
          },
          setup: { services: serviceCount, watchIntervalSeconds: watchInterval, windowSeconds: Math.round(windowS * 10) / 10, reportsInWindow: reports },
          unit: 'percent of one core (utime+stime over the window)',
          agents: {
            reporting: { cpuPercent: pct[0], cpuSeconds: used[0] },
            notReporting: { cpuPercent: pct[1], cpuSeconds: used[1] },
          },
          extraCpuPercent: extra,
          target: { extraCpuPercentAtMost: TARGET_EXTRA_PERCENT },
          meetsTarget: extra <= TARGET_EXTRA_PERCENT,
          samplerAlone: { services: serviceCount, rounds: microRounds, ...micro },
        },
        null,
        2,
      )}\n`,
    );
  });
}

await main();
