import { readFileSync } from 'node:fs';
import type { ProcessConfig } from '@smgr/shared';
import type { ProcessNames } from '../exec/process-names.js';
import { mainPidOf, procUnits, readUsageStat, treeUsage, type ProcUnits } from './proc-usage.js';
import { readCgroupUsage, unitCgroupDir } from './cgroup-usage.js';

/** One service's cost at one moment. */
export interface UsageSample {
  service: string;
  running: boolean;
  /** 'proc': the main process and everything under it; 'cgroup': the systemd unit's cgroup. */
  source: 'proc' | 'cgroup';
  mainPid: number;
  rssBytes: number;
  /** Percent of one CPU since the previous sample of the same main process; undefined on its first sample. */
  cpuPercent: number | undefined;
  threads: number;
  /** Undefined when a /proc/PID/fd could not be read. */
  openFiles: number | undefined;
  /** Processes counted, the main one included. */
  processes: number;
  uptimeMs: number;
  /** Times the main process changed (pid or start time) since the agent started. */
  restarts: number;
  sampledAtMs: number;
}

export interface ResourceSamplerOptions {
  /** /proc (tests point elsewhere only for pure parsing; the sampler reads the real one). */
  procRoot?: string;
  cgroupRoot?: string;
  units?: ProcUnits;
  /**
   * Pids of a service's process that the agent started itself and saw run
   * under the service's name (StartedProcesses); when known, the service is
   * measured from them without the round's /proc name snapshot (an idle
   * agent whose services it started reads no /proc/PID/stat but theirs).
   */
  knownPids?: (service: string) => readonly number[];
}

/** Per service: the last main process seen, and the CPU total at the last sample. */
interface Previous {
  /** `pid:startTicks` of the main process (or of the cgroup's oldest), or null when it was not running. */
  main: string | null;
  /** The last running main process, to count restarts across a stopped spell. */
  lastRunning: string | null;
  cpuSeconds: number;
  atMs: number;
  restarts: number;
}

/**
 * Samples what services cost, all services of a watch round in one pass.
 * A service is found by its systemd unit's cgroup when it is a systemd
 * service that has one (restart_strategy other than process); otherwise by
 * its pidfile, or by the processes named exactly NAME in the round's shared
 * /proc name snapshot (the one its `pgrep -x` check used), and measured over
 * that main process and every process under it, children included (the
 * kernel's per-task children lists: no second scan of /proc).
 *
 * CPU % is the growth of utime + stime (or the cgroup's usage_usec) over the
 * wall time since the previous sample of the same main process. Children
 * that exited between two samples take their time with them (the kernel
 * moves it to the parent's cutime, which is not counted): a negative growth
 * is read as 0.
 */
export class ResourceSampler {
  private readonly previous = new Map<string, Previous>();
  private readonly procRoot: string;
  private readonly cgroupRoot: string;
  private readonly units: ProcUnits;
  private readonly knownPids: (service: string) => readonly number[];

  constructor(opts: ResourceSamplerOptions = {}) {
    this.knownPids = opts.knownPids ?? (() => []);
    this.procRoot = opts.procRoot ?? '/proc';
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.units = opts.units ?? procUnits(this.procRoot);
  }

  /** Samples `services` now; `names` is the round's shared process-name snapshot (taken only if a service needs it). */
  sample(services: readonly ProcessConfig[], names: () => ProcessNames, now = Date.now()): UsageSample[] {
    return services.map((s) => this.sampleOne(s, names, now));
  }

  /** Forgets a service's history (its config went away). */
  forget(service: string): void {
    this.previous.delete(service);
  }

  private sampleOne(s: ProcessConfig, names: () => ProcessNames, now: number): UsageSample {
    const cgroup =
      s.restartStrategy !== 'process' && s.serviceManager !== 'sysv' && s.serviceManager !== 'openrc' && s.serviceManager !== 'none'
        ? unitCgroupDir(s.serviceName ?? s.name, this.cgroupRoot)
        : null;
    const measured = cgroup ? this.fromCgroup(cgroup) : this.fromProc(s, names);
    const prev = this.previous.get(s.name) ?? { main: null, lastRunning: null, cpuSeconds: 0, atMs: now, restarts: 0 };
    const main = measured ? `${measured.mainPid}:${measured.startTicks}` : null;
    let restarts = prev.restarts;
    if (main !== null && prev.lastRunning !== null && main !== prev.lastRunning) restarts += 1;
    let cpuPercent: number | undefined;
    if (measured && main === prev.main && now > prev.atMs) {
      cpuPercent = Math.max(0, ((measured.cpuSeconds - prev.cpuSeconds) / ((now - prev.atMs) / 1000)) * 100);
    }
    this.previous.set(s.name, {
      main,
      lastRunning: main ?? prev.lastRunning,
      cpuSeconds: measured?.cpuSeconds ?? 0,
      atMs: now,
      restarts,
    });
    const startMs = measured ? this.units.bootMs + (measured.startTicks * 1000) / this.units.clockTicks : now;
    return {
      service: s.name,
      running: measured !== null,
      source: cgroup ? 'cgroup' : 'proc',
      mainPid: measured?.mainPid ?? 0,
      rssBytes: measured?.rssBytes ?? 0,
      cpuPercent: cpuPercent === undefined ? undefined : Math.round(cpuPercent * 100) / 100,
      threads: measured?.threads ?? 0,
      openFiles: measured ? measured.openFiles : 0,
      processes: measured?.processes ?? 0,
      uptimeMs: measured && this.units.bootMs > 0 ? Math.max(0, Math.round(now - startMs)) : 0,
      restarts,
      sampledAtMs: now,
    };
  }

  private fromProc(s: ProcessConfig, names: () => ProcessNames): Measured | null {
    const known = s.pidfile ? [] : this.knownPids(s.name);
    const candidates = s.pidfile ? pidFromFile(s.pidfile) : known.length > 0 ? known : names().pidsNamed(s.name);
    const main = mainPidOf(candidates, this.procRoot);
    if (!main) return null;
    const tree = treeUsage([main.pid], { root: this.procRoot, pageSize: this.units.pageSize });
    if (!tree) return null;
    return {
      mainPid: main.pid,
      // Everything under the main process started after it: the tree's earliest start is the main one's.
      startTicks: main.startTicks >= 0 ? main.startTicks : tree.startTicks,
      rssBytes: tree.rssBytes,
      cpuSeconds: tree.cpuTicks / this.units.clockTicks,
      threads: tree.threads,
      openFiles: tree.openFiles,
      processes: tree.pids.length,
    };
  }

  private fromCgroup(dir: string): Measured | null {
    const cg = readCgroupUsage(dir);
    if (!cg || cg.pids.length === 0) return null;
    // The cgroup holds every process of the unit already: no walk under them.
    const tree = treeUsage(cg.pids, { root: this.procRoot, pageSize: this.units.pageSize, walk: false });
    if (!tree) return null;
    const main = mainPidOf(tree.pids, this.procRoot) ?? { pid: tree.pids[0]!, startTicks: tree.startTicks };
    return {
      mainPid: main.pid,
      startTicks: main.startTicks >= 0 ? main.startTicks : tree.startTicks,
      rssBytes: cg.memoryBytes ?? tree.rssBytes,
      cpuSeconds: cg.cpuUsec !== undefined ? cg.cpuUsec / 1e6 : tree.cpuTicks / this.units.clockTicks,
      threads: cg.tasks ?? tree.threads,
      openFiles: tree.openFiles,
      processes: tree.pids.length,
    };
  }
}

interface Measured {
  mainPid: number;
  startTicks: number;
  rssBytes: number;
  cpuSeconds: number;
  threads: number;
  openFiles: number | undefined;
  processes: number;
}

function pidFromFile(path: string): number[] {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 && readUsageStat(pid) !== null ? [pid] : [];
  } catch {
    return [];
  }
}
