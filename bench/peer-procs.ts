/**
 * Clocks and /proc for bench/agent-vs-peers.ts: when a service's process
 * started, in the bench's own monotonic clock, and which processes run under
 * the services' names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpuTicks } from './agent-bench-support.js';
import { percentile } from './controller-bench-support.js';

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The bench's monotonic clock, ms. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * CLOCK_BOOTTIME (what /proc/PID/stat starttime counts) minus CLOCK_MONOTONIC
 * (process.hrtime), found at the moment /proc/uptime's 10 ms value flips, so
 * to well under a millisecond.
 */
export function bootOffsetMs(): number {
  const up = () => readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
  const first = up();
  for (let i = 0; i < 100_000; i++) {
    const t = nowMs();
    const u = up();
    if (u !== first) return Number(u) * 1000 - t;
  }
  return Number(up()) * 1000 - nowMs();
}

export interface Live {
  pid: number;
  /** Process start in the bench's monotonic clock (ms), from starttime ticks. */
  startMs: number;
}

/**
 * Finds live (not zombie) processes whose comm is one of `names`. Processes
 * that are none of the bench's services (`everyName`) are remembered once they
 * are older than 10 s (a fork shows its parent's comm until it execs, which under a load of 30 took more than 1 s), so
 * later scans skip them, and forgotten when they vanish.
 */
export class ProcScan {
  #other = new Set<number>();

  constructor(
    /** Every service name of the run, all tools. */
    private readonly everyName: ReadonlySet<string>,
    /** Clock ticks per second of stat's times. */
    private readonly clkTck: number,
    /** CLOCK_BOOTTIME minus the bench's monotonic clock (bootOffsetMs), once measured. */
    private readonly bootOffset: () => number,
  ) {}

  reset(): void {
    this.#other.clear();
  }

  /** `skip`: pids not to read (victims and processes already counted), which keeps a scan cheap during a mass failure. */
  scan(names: ReadonlySet<string>, skip: ReadonlySet<number> = new Set()): Map<string, Live[]> {
    const found = new Map<string, Live[]>();
    const upTicks = (Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * this.clkTck) | 0;
    const listed = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      listed.add(pid);
      if (this.#other.has(pid) || skip.has(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = f[0];
      const start = Number(f[19]);
      if (names.has(comm)) {
        if (state === 'Z' || state === 'X') continue;
        const list = found.get(comm) ?? [];
        list.push({ pid, startMs: (start * 1000) / this.clkTck - this.bootOffset() });
        found.set(comm, list);
      } else if (!this.everyName.has(comm) && upTicks - start > 10 * this.clkTck) {
        this.#other.add(pid);
      }
    }
    for (const pid of this.#other) if (!listed.has(pid)) this.#other.delete(pid);
    return found;
  }
}

export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round1(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** utime+stime of a process in seconds. */
export function cpuSeconds(pid: number, clkTck: number): number {
  return cpuTicks(pid).own / clkTck;
}

export function stats(ms: readonly number[]) {
  return {
    unit: 'ms',
    n: ms.length,
    median: round1(percentile(ms, 50)),
    p90: round1(percentile(ms, 90)),
    max: round1(Math.max(...ms)),
    min: round1(Math.min(...ms)),
  };
}
