/**
 * Killing the services of bench/agent-vs-peers.ts and timing their return:
 * waiting until a tool has every service up, SIGKILLing some (stamped right
 * before each kill(2)) and watching /proc for their new processes, and the
 * supervisors' RSS.
 */
import { progress, sleep } from './bench-support.js';
import { nowMs, rssMiB, type Live, type ProcScan } from './peer-procs.js';
import type { Instance } from './peer-tools.js';

/** How often /proc is polled for up to 20 victims (more: every 25 ms). */
export const POLL_MS = 3;

export interface KillResult {
  backMs: Map<string, number>;
  seenMs: Map<string, number>;
  missing: string[];
}

/** The kills and waits of one run, over its ProcScan of every service name. */
export class PeerKills {
  constructor(private readonly procs: ProcScan) {}

  /** Waits until every name has exactly one live process and the tool says it is settled. */
  async waitAllUp(inst: Instance, timeoutMs: number): Promise<Map<string, Live>> {
    const names = new Set(inst.names);
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.procs.scan(names);
      const one = [...names].every((n) => found.get(n)?.length === 1);
      if (one && (await inst.settled())) return new Map([...found].map(([n, l]) => [n, l[0]!]));
      if (Date.now() > end) {
        const down = [...names].filter((n) => (found.get(n)?.length ?? 0) !== 1);
        progress(`${inst.tool} output:\n${inst.tail()}`);
        throw new Error(
          `${inst.tool}: ${down.length} of ${names.size} services not running as one process after ${timeoutMs} ms (${down.slice(0, 5).join(', ')}…)`,
        );
      }
      await sleep(50);
    }
  }

  /** Kills these services' processes (stamped right before each kill(2)) and waits for a new PID under each name. */
  async killAndWatch(victims: Map<string, Live>, timeoutMs: number): Promise<KillResult> {
    const names = new Set(victims.keys());
    const old = new Set([...victims.values()].map((v) => v.pid));
    const killedAt = new Map<string, number>();
    this.procs.reset();
    this.procs.scan(names); // warm the cache of other processes before the clock runs
    for (const [name, v] of victims) {
      killedAt.set(name, nowMs());
      process.kill(v.pid, 'SIGKILL');
    }
    const backMs = new Map<string, number>();
    const seenMs = new Map<string, number>();
    const end = nowMs() + timeoutMs;
    // The back figure comes from the kernel's start time, so a slower poll for
    // many victims costs only the seen figure, and leaves the CPUs to the supervisors.
    const pollMs = names.size > 20 ? 25 : POLL_MS;
    const skip = new Set(old);
    while (seenMs.size < names.size && nowMs() < end) {
      await sleep(pollMs);
      const t = nowMs();
      const found = this.procs.scan(names, skip);
      for (const [name, list] of found) {
        if (seenMs.has(name)) continue;
        const fresh = list.find((l) => !old.has(l.pid));
        if (!fresh) continue;
        skip.add(fresh.pid);
        seenMs.set(name, t - killedAt.get(name)!);
        // starttime has 10 ms ticks: a start in the kill's own tick can read slightly before the kill.
        backMs.set(name, Math.max(0, fresh.startMs - killedAt.get(name)!));
      }
    }
    return { backMs, seenMs, missing: [...names].filter((n) => !seenMs.has(n)) };
  }

  /** SIGKILLs every live process running under one of these service names (all started by this bench's supervisors). */
  killAll(names: Iterable<string>): void {
    for (const list of this.procs.scan(new Set(names)).values()) {
      for (const l of list) {
        try {
          process.kill(l.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }

  supervisorRss(inst: Instance): Record<string, number> {
    return Object.fromEntries(inst.measured.map((m) => [`${m.role}MiB`, rssMiB(m.pid)]));
  }
}
