#!/usr/bin/env -S node --import tsx
/**
 * bench/agent-footprint: what an idle agent costs its host.
 *
 * Starts a throwaway MariaDB + Redis, a controller, N running services (copies
 * of /bin/sleep under unique names) and one agent per variant, each managing
 * all N services with watch checks every --watch-interval seconds (the
 * default health check, `pgrep -x -- NAME`). Once every agent is connected it
 * waits --seconds, sampling each agent's /proc/PID/status every 5 s, and
 * prints one JSON object: RSS (VmRSS, its anonymous and file-backed parts,
 * PSS from smaps_rollup) at the end and at most, and CPU as a percentage of
 * one core over the idle window (utime+stime; the checks' own processes
 * separately, from cutime+cstime).
 *
 * Variants (run side by side, on the same services), comma-separated:
 *   dist          node services/agent/dist/main.js   (what the tests run)
 *   bundle        node lib/smgr-agent.mjs            (esbuild bundle as scripts/package.mjs makes it)
 *   bundle-min    the same bundle, minified
 *   X-tuned       X with the node flags of --tuned-flags (default: --max-semi-space-size=1 --lite-mode)
 *   X[flags]      X with these node flags, e.g. "bundle[--max-semi-space-size=1]"
 *
 *   node --import tsx bench/agent-footprint.ts [--seconds 300] [--services 20]
 *        [--watch-interval 10] [--variants dist,bundle,bundle-tuned] [--tuned-flags="..."]
 *
 * Needs `npx turbo run build` first. Target (issue 3): <= 55 MB RSS and
 * <= 0.2 % of a core after 5 minutes idle with 20 services checked every 10 s.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK, cpuTicks, idleAgentArgs, idleAgentStack, machineInfo, startWatchingAgents, withCleanup } from './agent-bench-support.js';
import { bundleShippedAgent, ROOT } from './bench-support.js';

const DEFAULT_TUNED = '--max-semi-space-size=1 --lite-mode';
const SAMPLE_EVERY_MS = 5_000;

const { args, seconds, serviceCount, watchInterval } = idleAgentArgs({ variants: 'dist,bundle,bundle-tuned,bundle-min-tuned', 'tuned-flags': DEFAULT_TUNED });
const variantNames = args.variants
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

interface Variant {
  name: string;
  argv: string[];
}

interface ProcSample {
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
  hwmKiB: number;
}

function status(pid: number): ProcSample {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKiB: kib('VmRSS'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile'), hwmKiB: kib('VmHWM') };
}

function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/**
 * `dist`, `bundle`, `bundle-min` (minified), each optionally with node flags
 * in brackets: `bundle[--max-semi-space-size=1]`. `X-tuned` is X with --tuned-flags.
 */
function variantSpecs(names: string[], tuned: string[]): { name: string; base: string; flags: string[] }[] {
  return names.map((name) => {
    const m = /^([a-z-]+?)(?:\[(.*)\])?$/.exec(name);
    if (!m) throw new Error(`bad variant ${name}`);
    if (m[2] !== undefined) return { name, base: m[1]!, flags: m[2].split(/\s+/).filter(Boolean) };
    if (m[1]!.endsWith('-tuned')) return { name, base: m[1]!.slice(0, -'-tuned'.length), flags: tuned };
    return { name, base: m[1]!, flags: [] };
  });
}

async function main(): Promise<void> {
  await withCleanup(async (cleanup) => {
    const stack = await idleAgentStack(cleanup, serviceCount, 'fp');
    const { tmp } = stack;

    const variants: Variant[] = [];
    const tuned = args['tuned-flags'].split(/\s+/).filter(Boolean);
    const files: Record<string, string> = { dist: join(ROOT, 'services/agent/dist/main.js') };
    for (const spec of variantSpecs(variantNames, tuned)) {
      if (!(spec.base in files)) {
        if (spec.base === 'bundle') files.bundle = await bundleShippedAgent(tmp.path);
        else if (spec.base === 'bundle-min') files['bundle-min'] = await bundleShippedAgent(tmp.path, { minify: true });
        else throw new Error(`unknown variant ${spec.name}: the base must be dist, bundle or bundle-min`);
      }
      variants.push({ name: spec.name, argv: [...spec.flags, files[spec.base]!] });
    }

    const specs = variants.map((v) => ({ name: v.name, argv: v.argv, level: 'info' }));
    const procs = await startWatchingAgents(cleanup, stack, { watchInterval, hostPrefix: 'fp' }, specs);
    const agents = variants.map((variant, i) => ({ variant, proc: procs[i]! }));

    const start = Date.now();
    const first = agents.map((a) => cpuTicks(a.proc.pid!));
    const samples: ProcSample[][] = agents.map(() => []);
    process.stderr.write(`agent-footprint: ${agents.length} agent(s), ${serviceCount} services, watch every ${watchInterval} s; measuring ${seconds} s\n`);
    while (Date.now() - start < seconds * 1000) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_MS, seconds * 1000 - (Date.now() - start))));
      for (const [i, a] of agents.entries()) samples[i]!.push(status(a.proc.pid!));
    }
    const windowS = (Date.now() - start) / 1000;

    const results = agents.map((a, i) => {
      const end = samples[i]!.at(-1)!;
      const ticks = cpuTicks(a.proc.pid!);
      const ownS = (ticks.own - first[i]!.own) / CLK_TCK;
      const childS = (ticks.children - first[i]!.children) / CLK_TCK;
      const checks = a.proc.jsonLines().filter((j) => j.msg === 'watch check failed' || j.msg === 'watched service failing').length;
      const rssEnd = mib(end.rssKiB);
      const cpuPct = Math.round((ownS / windowS) * 100 * 1000) / 1000;
      return {
        name: a.variant.name,
        command: ['node', ...a.variant.argv.map((x) => x.replace(tmp.path, '$TMP').replace(ROOT, '.'))],
        rss: {
          unit: 'MiB',
          end: rssEnd,
          max: mib(Math.max(...samples[i]!.map((s) => s.rssKiB))),
          mean: mib(samples[i]!.reduce((sum, s) => sum + s.rssKiB, 0) / samples[i]!.length),
          peakSinceStart: mib(end.hwmKiB),
          anonEnd: mib(end.anonKiB),
          fileEnd: mib(end.fileKiB),
          pssEnd: mib(pssKiB(a.proc.pid!)),
          everySample: samples[i]!.map((x) => mib(x.rssKiB)),
        },
        cpu: {
          unit: 'percent of one core',
          agent: cpuPct,
          agentCpuSeconds: ownS,
          checkCommands: Math.round((childS / windowS) * 100 * 1000) / 1000,
          checkCommandsCpuSeconds: childS,
          windowSeconds: Math.round(windowS * 10) / 10,
        },
        failedChecks: checks,
        meetsTarget: rssEnd <= 55 && cpuPct <= 0.2,
      };
    });

    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'agent-footprint',
          at: new Date().toISOString(),
          machine: machineInfo(),
          setup: {
            services: serviceCount,
            watchIntervalSeconds: watchInterval,
            idleSeconds: seconds,
            sampleEverySeconds: SAMPLE_EVERY_MS / 1000,
            tunedFlags: tuned,
          },
          target: { rssMiB: 55, cpuPercentOfOneCore: 0.2 },
          variants: results,
        },
        null,
        2,
      )}\n`,
    );
  });
}

await main();
