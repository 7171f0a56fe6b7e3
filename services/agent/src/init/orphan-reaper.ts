import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { parseStat, readProcStat } from '../exec/process-names.js';
import { constants } from 'node:os';
import { loadReaper, type ReaperBinding } from '@smgr/reaper';
import type { Logger } from '@smgr/shared';
import { isSpawnedChild, trackSpawnedChildren } from './spawned-children.js';

/**
 * What the agent is to orphaned processes:
 * - `init`: PID 1 of its PID namespace (a container's entrypoint); the kernel
 *   re-parents every orphan of the namespace to it;
 * - `subreaper`: prctl(PR_SET_CHILD_SUBREAPER); orphans among its own
 *   descendants (the daemon a start script backgrounds) become its children;
 * - `off`: neither (agent.subreaper = false, the addon is missing, or /proc
 *   shows another PID namespace); the host's init reaps them.
 */
export type ReaperRole = 'init' | 'subreaper' | 'off';

/** A child that has exited and waits for its parent to collect its status. */
export interface ZombieChild {
  pid: number;
  /** The kernel's comm (15 bytes at most); a zombie keeps it. */
  comm: string;
}

/** An orphan the reaper collected. */
export interface ReapedOrphan extends ZombieChild {
  exitCode: number | null;
  signal: string | null;
}

export interface OrphanReaperOptions {
  log: Logger;
  /** agent.subreaper: become a child subreaper when not PID 1. */
  subreaper: boolean;
  /** Default: the addon (@smgr/reaper), loaded at start. */
  binding?: () => ReaperBinding;
  /** Default process.pid. */
  pid?: number;
  /** Default /proc. */
  proc?: string;
  /** Children libuv waits for, never to be reaped here; default: the child_process record. */
  isLibuvChild?: (pid: number) => boolean;
  /** A pass without a SIGCHLD (a signal coalesced with another, one missed while starting); default 30 s. */
  sweepIntervalMs?: number;
}

/**
 * Between sweeps when no SIGCHLD arrives (every SIGCHLD already reaps every
 * zombie, so a sweep only covers a signal lost while starting): zombies cost
 * only a pid each, so no hurry, and an idle agent does not read /proc for it.
 */
const SWEEP_INTERVAL_MS = 30_000;

const signalNames = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/**
 * The child pids of `self`: from /proc/self/task/TID/children (every thread's
 * children: an orphan is re-parented to one thread of the reaper), or a scan
 * of every /proc/PID/stat when the kernel lacks those files. null when /proc
 * is not mounted for this process's PID namespace (its "self" names another
 * pid): then its pids mean nothing to waitpid().
 */
export function childPids(proc = '/proc', self = process.pid): number[] | null {
  try {
    if (readlinkSync(`${proc}/self`) !== String(self)) return null;
  } catch {
    return null;
  }
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`${proc}/self/task`)) {
      for (const pid of readFileSync(`${proc}/self/task/${tid}/children`, 'utf8').split(' ')) if (pid.trim() !== '') out.push(Number(pid));
    }
    return out;
  } catch {
    const out: number[] = [];
    for (const entry of readdirSync(proc)) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(proc, Number(entry));
      if (stat && stat.ppid === self) out.push(Number(entry));
    }
    return out;
  }
}

/** The zombies among `self`'s children. */
export function zombieChildren(proc = '/proc', self = process.pid): ZombieChild[] | null {
  const pids = childPids(proc, self);
  if (pids === null) return null;
  const out: ZombieChild[] = [];
  for (const pid of pids) {
    const stat = readStat(proc, pid);
    if (stat?.state === 'Z') out.push({ pid, comm: stat.comm });
  }
  return out;
}

function readStat(proc: string, pid: number): { comm: string; state: string; ppid: number } | null {
  const text = readProcStat(pid, 'utf8', proc);
  const stat = text === null ? null : parseStat(text);
  if (stat === null) return null;
  return { comm: stat.comm, state: stat.fields[0] ?? '', ppid: Number(stat.fields[1]) };
}

/**
 * Reaps orphans, as an init must: every zombie child of the agent that is
 * not one libuv waits for (those are left to libuv, which reaps them by
 * pid). A pass runs on each SIGCHLD and every few seconds; a zombie is never
 * "running" for the agent's checks anyway (process-table.ts skips state Z),
 * but one left unreaped keeps its pid and shows in `pgrep` and `ps`.
 *
 *   off ──start()──► init (pid 1) | subreaper (prctl ok) | off (no addon, agent.subreaper = false)
 *   init/subreaper ──stop()──► off (one last pass; the prctl setting stays)
 */
export class OrphanReaper {
  private binding: ReaperBinding | undefined;
  private current: ReaperRole = 'off';
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private reapedTotal = 0;
  private readonly pid: number;
  private readonly proc: string;
  private readonly isLibuvChild: (pid: number) => boolean;
  private readonly log: Logger;
  private readonly onSigchld = () => {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reapNow();
    });
  };

  constructor(private readonly opts: OrphanReaperOptions) {
    this.pid = opts.pid ?? process.pid;
    this.proc = opts.proc ?? '/proc';
    this.isLibuvChild = opts.isLibuvChild ?? isSpawnedChild;
    this.log = opts.log.child({ component: 'reaper' });
    // Before any child exists: every one started from here on is known.
    if (!opts.isLibuvChild) trackSpawnedChildren();
  }

  get role(): ReaperRole {
    return this.current;
  }

  /** Orphans reaped since start. */
  get reaped(): number {
    return this.reapedTotal;
  }

  /** Takes up the role this process can have (see ReaperRole) and starts reaping; returns the role. */
  start(): ReaperRole {
    if (this.current !== 'off' || this.timer) return this.current;
    try {
      this.binding = (this.opts.binding ?? loadReaper)();
    } catch (err) {
      this.log.error({ err: (err as Error).message, pid: this.pid }, 'cannot reap orphaned processes: their zombies will stay until the agent exits');
      return this.current;
    }
    let role: ReaperRole = 'off';
    if (this.pid === 1) role = 'init';
    else if (this.opts.subreaper) {
      try {
        this.binding.setChildSubreaper(true);
        role = 'subreaper';
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'cannot become a child subreaper; orphaned daemons go to the init of this PID namespace');
      }
    }
    if (role === 'off') return this.current;
    if (zombieChildren(this.proc, this.pid) === null) {
      this.log.error(
        { pid: this.pid, proc: this.proc },
        `${this.proc} is not mounted for this PID namespace (${this.proc}/self is not pid ${this.pid}), so orphans cannot be told from the agent's own children and are not reaped; mount a fresh proc (unshare --mount-proc, a container runtime does)`,
      );
      return this.current;
    }
    this.current = role;
    process.on('SIGCHLD', this.onSigchld);
    this.timer = setInterval(() => this.reapNow(), this.opts.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.log.info(
      { role, pid: this.pid },
      role === 'init' ? 'PID 1 of this PID namespace: reaping every orphan' : 'child subreaper: reaping orphaned daemons the agent started',
    );
    // Orphans adopted before the listener existed.
    this.reapNow();
    return role;
  }

  /** One pass: reaps every zombie child that libuv does not wait for. Never throws. */
  reapNow(): ReapedOrphan[] {
    const binding = this.binding;
    if (this.current === 'off' || !binding) return [];
    const out: ReapedOrphan[] = [];
    for (const z of zombieChildren(this.proc, this.pid) ?? []) {
      if (this.isLibuvChild(z.pid)) continue;
      try {
        const r = binding.reap(z.pid);
        if (!r) continue;
        const orphan = { ...z, exitCode: r.code, signal: r.signal === null ? null : (signalNames.get(r.signal) ?? String(r.signal)) };
        out.push(orphan);
        this.log.debug(orphan, 'orphan reaped');
      } catch (err) {
        // ECHILD: gone meanwhile (libuv reaped a child spawned after the record was read).
        this.log.debug({ pid: z.pid, err: (err as Error).message }, 'orphan not reaped');
      }
    }
    this.reapedTotal += out.length;
    return out;
  }

  /** Stops listening and does one last pass. Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    process.off('SIGCHLD', this.onSigchld);
    this.reapNow();
    this.current = 'off';
  }
}
