import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { readProcStat, statState } from '../exec/process-names.js';
import { join } from 'node:path';
import { Operation, type Logger, type ProcessConfig, type SmgrConfig } from '@smgr/shared';
import type { JobRunner } from '../jobs/job-runner.js';
import type { HeldServices } from '../watch/held-services.js';
import { sleep } from '../exec/process-table.js';
import { OrphanReaper } from './orphan-reaper.js';

/** Time a service's shutdown STOP gets besides its stop_timeout: its stop_command and assert_down checks. */
export const SHUTDOWN_SLACK_MS = 5_000;
/** After a SIGKILL the process strategy waits this long for the process to go (process-table.ts terminate). */
const KILL_WAIT_MS = 2_000;
/** As PID 1, once the services are stopped: how long what is left in the namespace gets between SIGTERM and SIGKILL. */
export const LEFTOVER_GRACE_MS = 3_000;
/**
 * In container mode the agent rewrites `state_dir/HEARTBEAT_FILE` this often;
 * the image's HEALTHCHECK calls the container unhealthy when the file is
 * older than 30 s (a hung event loop, like systemd's watchdog).
 */
export const HEARTBEAT_FILE = 'heartbeat';
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** runDaemon's bound on a clean stop when the agent stops no services itself. */
const BASE_STOP_BOUND_MS = 15_000;

/** agent.container_mode: 'auto' means "when PID 1 of the PID namespace". */
export function isContainerMode(setting: 'auto' | boolean, pid = process.pid): boolean {
  return setting === 'auto' ? pid === 1 : setting;
}

/** The deadline of one service's STOP at shutdown: its stop_timeout, and time for its stop command and checks. */
export function shutdownDeadlineMs(service: ProcessConfig): number {
  return service.stopTimeoutMs + SHUTDOWN_SLACK_MS;
}

/**
 * The longest a clean stop of this agent may take before runDaemon gives up
 * (exit 1): in container mode every service's shutdown deadline plus the
 * SIGKILL wait, and the leftovers' grace as PID 1; a container runtime's stop
 * timeout (docker stop -t, stop_grace_period) should be at least this.
 */
export function stopBoundMs(cfg: SmgrConfig, pid = process.pid): number {
  if (!isContainerMode(cfg.agent.containerMode, pid)) return BASE_STOP_BOUND_MS;
  const services = cfg.processes.reduce((sum, s) => sum + shutdownDeadlineMs(s) + KILL_WAIT_MS, 0);
  return BASE_STOP_BOUND_MS + services + (pid === 1 ? LEFTOVER_GRACE_MS + KILL_WAIT_MS : 0);
}

export interface ContainerInitOptions {
  config: SmgrConfig;
  runner: JobRunner;
  holds: HeldServices;
  log: Logger;
  /** Default: one for this process (agent.subreaper). */
  reaper?: OrphanReaper;
}

/**
 * An init's duties, for an agent that is a container's entrypoint:
 * - always: reap orphans (OrphanReaper: as PID 1 every orphan of the
 *   namespace, else, as a child subreaper, the daemons its start commands
 *   leave behind);
 * - in container mode (agent.container_mode; by default when PID 1): start
 *   the services by ascending startup_rank at start-up (held ones excepted),
 *   and at shutdown stop them by descending startup_rank, each within its
 *   stop_timeout (plus SHUTDOWN_SLACK_MS); neither sets nor releases holds;
 * - as PID 1: then SIGTERM whatever is left in the namespace, SIGKILL after
 *   LEFTOVER_GRACE_MS, and reap it, so the agent exits with nothing behind.
 *
 *   idle ──start()──► running (boot start in the background) ──stop()──► stopped
 */
export class ContainerInit {
  readonly enabled: boolean;
  readonly reaper: OrphanReaper;
  private readonly log: Logger;
  private booting: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly opts: ContainerInitOptions) {
    this.enabled = isContainerMode(opts.config.agent.containerMode);
    this.log = opts.log.child({ component: 'container-init' });
    this.reaper = opts.reaper ?? new OrphanReaper({ log: opts.log, subreaper: opts.config.agent.subreaper });
  }

  /** Starts reaping and, in container mode, starting the services (not waited for). */
  start(): void {
    this.reaper.start();
    if (!this.enabled) return;
    const { config, runner, holds } = this.opts;
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    this.log.info(
      { pid: process.pid, services: config.processes.length, stopBoundMs: stopBoundMs(config) },
      'container mode: starting the services by startup_rank; at SIGTERM they are stopped in reverse order (give the container runtime at least stopBoundMs to stop)',
    );
    this.booting = runner
      .lifecycleAll(Operation.START, {
        reason: 'container-start',
        deadlineMs: (s) => s.operationTimeoutMs,
        skip: (s) =>
          this.stopping ? 'the agent is shutting down' : holds.isHeld(s.name) ? `stopped on purpose (a STOP); start it with: smgr start ${s.name}` : null,
      })
      .then((r) => {
        this.log[r.ok ? 'info' : 'error']({ ok: r.ok, services: r.services }, 'container start-up finished');
      });
  }

  /** Stops the services (container mode), then, as PID 1, everything else; stops reaping last. Never throws. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeat);
    try {
      if (this.enabled) {
        const r = await this.opts.runner.lifecycleAll(Operation.STOP, { reason: 'container-stop', deadlineMs: shutdownDeadlineMs });
        this.log[r.ok ? 'info' : 'error']({ ok: r.ok, order: r.services?.map((s) => s.service), services: r.services }, 'services stopped for shutdown');
      }
      await this.booting;
      if (process.pid === 1) await this.endLeftovers();
    } catch (err) {
      this.log.error({ err }, 'error while stopping the services');
    } finally {
      this.reaper.stop();
    }
  }

  /** The time, for the image's HEALTHCHECK (its mtime is what counts). */
  private beat(): void {
    try {
      writeFileSync(join(this.opts.config.agent.stateDir, HEARTBEAT_FILE), `${new Date().toISOString()}\n`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot write the heartbeat file; the container health check will fail');
    }
  }

  /**
   * PID 1 only (a guard on process.pid itself, never on an option: kill(-1)
   * from anything else would signal every process the agent may signal).
   */
  private async endLeftovers(): Promise<void> {
    if (process.pid !== 1) return;
    let left = livingOthers();
    if (left.length === 0) return;
    this.log.info({ pids: left }, 'sending SIGTERM to the processes left in this PID namespace');
    signalAll('SIGTERM');
    const until = Date.now() + LEFTOVER_GRACE_MS;
    while ((left = this.reapAndList()).length > 0 && Date.now() < until) await sleep(50);
    if (left.length === 0) return;
    this.log.warn({ pids: left, graceMs: LEFTOVER_GRACE_MS }, 'sending SIGKILL to the processes still left');
    signalAll('SIGKILL');
    const hard = Date.now() + KILL_WAIT_MS;
    while (this.reapAndList().length > 0 && Date.now() < hard) await sleep(50);
  }

  private reapAndList(): number[] {
    this.reaper.reapNow();
    return livingOthers();
  }
}

function signalAll(signal: NodeJS.Signals): void {
  try {
    process.kill(-1, signal);
  } catch {
    // ESRCH: nobody left.
  }
}

/** Processes other than this one that are not zombies, when /proc is this namespace's; [] when it is not (nothing to wait for). */
function livingOthers(): number[] {
  try {
    if (readlinkSync('/proc/self') !== String(process.pid)) return [];
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const stat = readProcStat(entry);
    // gone (null) or a zombie: not living
    if (stat !== null && statState(stat) !== 'Z') out.push(Number(entry));
  }
  return out;
}
