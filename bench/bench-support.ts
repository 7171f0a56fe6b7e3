/**
 * What every bench shares, whatever it measures: its command line, progress
 * on stderr, waiting, rounding, and what its JSON report says of the machine.
 * Controller benches add controller-bench-support.ts, agent benches
 * agent-bench-support.ts.
 */
import { cpus, loadavg, release } from 'node:os';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { shippedBundleOptions } from '../scripts/esbuild-esm.mjs';

/** The checkout's root. */
export const ROOT = resolve(import.meta.dirname, '..');

/** benchArgs' defaults: a string option's default (undefined: none) or a flag's. */
export type ArgDefaults = Record<string, string | boolean | undefined>;

/** The parsed options: a string for each string default, string | undefined where there is none, a boolean for each flag. */
export type BenchArgs<D extends ArgDefaults> = {
  [K in keyof D]: D[K] extends boolean ? boolean : D[K] extends string ? string : string | undefined;
};

/**
 * The bench's options from process.argv, parsed strictly (an unknown option
 * is an error): one per key of `defaults`, `--key VALUE` where the default
 * is a string (undefined: no default), a flag `--key` where it is a boolean.
 */
export function benchArgs<D extends ArgDefaults>(defaults: D): BenchArgs<D> {
  const options = Object.fromEntries(
    Object.entries(defaults).map(([key, value]) => [
      key,
      typeof value === 'boolean'
        ? { type: 'boolean' as const, default: value }
        : { type: 'string' as const, ...(value === undefined ? {} : { default: value }) },
    ]),
  );
  return parseArgs({ options, strict: true }).values as BenchArgs<D>;
}

/** Progress goes to stderr, stamped with the time of day; stdout carries only the JSON report. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One decimal. */
export const round1 = (x: number): number => Math.round(x * 10) / 10;
/** Three decimals. */
export const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** The 1, 5 and 15 minute load averages now, two decimals: the machine is shared, and a load above its CPU count makes every figure pessimistic. */
export const loadAverages = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

/** The CPUs, kernel and node of the machine, as the machine block of a report names them. */
export function hostFields(): { cpus: number; cpuModel: string; kernel: string; node: string } {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model ?? 'unknown', kernel: release(), node: process.version };
}

/**
 * The agent as scripts/package.mjs ships it: its esbuild bundle in DIR/lib
 * with the shipped options (scripts/esbuild-esm.mjs), and the reaper addon
 * beside it as in the artifact (the agent reaps and trims memory with it).
 * `minify` also renames identifiers (a variant the artifact does not use).
 */
export async function bundleShippedAgent(dir: string, opts: { minify?: boolean } = {}): Promise<string> {
  const outfile = join(dir, 'lib', opts.minify ? 'smgr-agent.min.mjs' : 'smgr-agent.mjs');
  await build({
    entryPoints: [join(ROOT, 'services/agent/dist/main.js')],
    outfile,
    ...(shippedBundleOptions as BuildOptions),
    ...(opts.minify ? { minify: true } : {}),
  });
  await copyFile(join(ROOT, 'packages/reaper/build/Release/smgr_reaper.node'), join(dir, 'lib', 'smgr_reaper.node'));
  return outfile;
}
