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
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@smgr/shared';
import { CLK_TCK, cpuTicks, idleAgentArgs, idleAgentStack, machineInfo, positiveNumbers, startWatchingAgents, withCleanup } from './agent-bench-support.js';
import { ROOT, round3 } from './bench-support.js';
import { ResourceSampler } from '../services/agent/dist/usage/resource-sampler.js';
import { ProcessNames } from '../services/agent/dist/exec/process-names.js';

const TARGET_EXTRA_PERCENT = 0.05;

const { args, seconds, serviceCount, watchInterval } = idleAgentArgs({ 'micro-rounds': '2000' });
const microRounds = positiveNumbers({ 'micro-rounds': args['micro-rounds'] })['micro-rounds'];

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
    const stack = await idleAgentStack(cleanup, serviceCount, 'sc');
    const { names } = stack;
    const specs = [true, false].map((reporting) => ({
      name: reporting ? 'reporting' : 'silent',
      argv: [join(ROOT, 'services/agent/dist/main.js')],
      // debug for both (the same logging on each side): the reporting agent logs each report it sends, which is how the bench counts rounds.
      level: 'debug',
      agent: { service_usage: reporting },
    }));
    const agents = await startWatchingAgents(cleanup, stack, { watchInterval, hostPrefix: 'sc' }, specs);
    const reporter = agents[0]!;
    await reporter.waitForLine((_l, j) => j?.msg === 'usage report sent' && j.sent === true, (watchInterval + 30) * 1000, 'a usage report');

    process.stderr.write(`service-cost: 2 agents, ${serviceCount} services, watch every ${watchInterval} s; measuring ${seconds} s\n`);
    const load = { start: loadavg() };
    const start = Date.now();
    const first = agents.map((a) => cpuTicks(a.pid!).own);
    const reportsBefore = reporter.jsonLines().filter((j) => j.msg === 'usage report sent').length;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const windowS = (Date.now() - start) / 1000;
    const used = agents.map((a, i) => (cpuTicks(a.pid!).own - first[i]!) / CLK_TCK);
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
