/**
 * systemd's notify protocol for `Type=notify` units with `WatchdogSec=`:
 * READY=1 once the daemon serves, WATCHDOG=1 from the event loop at half the
 * interval systemd asks for ($WATCHDOG_USEC), STOPPING=1 when a stop begins.
 * Without $NOTIFY_SOCKET (not under systemd, or another Type=) it does nothing.
 *
 * Node cannot send a UNIX datagram by itself, and the npm bindings for
 * sd_notify(3) are native addons, so each message is sent by `systemd-notify`
 * (part of systemd, so present wherever a notify socket is). That tool
 * exits right after sending, and a message whose sender is gone before PID 1
 * reads it cannot be attributed to the unit (systemd-notify(1)); since
 * systemd 246 it waits on sd_notify_barrier() until the manager has read the
 * message, so it is reliable on Debian 12 (252) and 13 (257) as long as
 * `--no-block` is not used. It runs as the daemon's user, not as the main
 * PID, hence the units' `NotifyAccess=all`.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../logging/index.js';

/** What the daemon tells systemd. Every method is a no-op without $NOTIFY_SOCKET. */
export interface SdNotifier {
  /** True when $NOTIFY_SOCKET was set, i.e. systemd listens. */
  readonly enabled: boolean;
  /** Milliseconds between watchdog pings, when systemd asked for a watchdog for this process. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1, then watchdog pings from the event loop until `stopping()`/`close()`. */
  ready(status?: string): void;
  /** STOPPING=1 and no more pings; resolves once sent (bounded by the send timeout). */
  stopping(): Promise<void>;
  /** Ends the pings without telling systemd anything. Idempotent. */
  close(): void;
}

export interface SdNotifierOptions {
  /** Where NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Removes those three variables from `env` so that child processes do not inherit them (as sd_notify's unset_environment). Default true. */
  unsetEnvironment?: boolean;
  log?: Pick<Logger, 'warn' | 'error' | 'debug'>;
  /** The `systemd-notify` binary; default found on PATH. */
  command?: string;
  /** Bound on one send (default 5 s, as systemd-notify's own wait for the manager). */
  sendTimeoutMs?: number;
  /** This process's PID, compared with WATCHDOG_PID; default `process.pid`. */
  pid?: number;
}

const DISABLED: SdNotifier = {
  enabled: false,
  watchdogIntervalMs: undefined,
  ready: () => undefined,
  stopping: async () => undefined,
  close: () => undefined,
};

/**
 * Half of $WATCHDOG_USEC in ms, when it is set for this process (WATCHDOG_PID
 * absent or equal to `pid`); undefined otherwise.
 */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2_000));
}

export function createSdNotifier(opts: SdNotifierOptions = {}): SdNotifier {
  const env = opts.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  const intervalMs = socket ? watchdogInterval(env, opts.pid ?? process.pid) : undefined;
  if (opts.unsetEnvironment ?? true) {
    // The agent's services must not report to the agent's unit.
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    delete env.WATCHDOG_PID;
  }
  if (!socket) return DISABLED;

  const command = opts.command ?? 'systemd-notify';
  const sendTimeoutMs = opts.sendTimeoutMs ?? 5_000;
  const log = opts.log;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let pinging = false;
  let reportedMissing = false;
  let chain: Promise<void> = Promise.resolve();

  /** Runs one `systemd-notify`; resolves when it has ended (never rejects). */
  const run = (lines: string[]): Promise<void> =>
    new Promise<void>((resolve) => {
      const child = spawn(command, lines, {
        env: { PATH: env.PATH ?? process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: sendTimeoutMs,
      });
      let stderr = '';
      let failed = false;
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 1_000) stderr += d;
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
        failed = true;
        if (err.code === 'ENOENT' && !reportedMissing) {
          reportedMissing = true;
          log?.error(
            { command, notifySocket: socket },
            'systemd-notify not found: NOTIFY_SOCKET is set (Type=notify) but readiness and watchdog pings cannot be sent; install systemd or run the unit with Type=exec and no WatchdogSec',
          );
        } else if (err.code !== 'ENOENT') {
          log?.warn({ err: err.message, message: lines.join(' ') }, 'sd_notify: systemd-notify could not be run');
        }
        resolve();
      });
      child.once('close', (code, signal) => {
        if (code !== 0 && !failed) log?.warn({ code, signal, stderr: stderr.trim(), message: lines.join(' ') }, 'sd_notify: systemd-notify failed');
        resolve();
      });
    });
  /** READY and the pings go out in order, one `systemd-notify` at a time. */
  const send = (lines: string[]): Promise<void> => {
    chain = chain.then(() => run(lines));
    return chain;
  };

  const ping = (): void => {
    // One ping in flight at most: a manager slow to read gets no pile of them.
    if (pinging || closed) return;
    pinging = true;
    void send(['WATCHDOG=1']).finally(() => {
      pinging = false;
    });
  };

  const close = (): void => {
    closed = true;
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    enabled: true,
    watchdogIntervalMs: intervalMs,
    ready(status) {
      if (closed) return;
      void send(status ? ['READY=1', `STATUS=${status}`] : ['READY=1']);
      if (intervalMs !== undefined && !timer) {
        // From the event loop on purpose: a loop that is stuck stops pinging, and systemd restarts us.
        timer = setInterval(ping, intervalMs);
        timer.unref();
        log?.debug({ intervalMs }, 'systemd watchdog pings started');
      }
    },
    async stopping() {
      if (closed) return;
      close();
      // At once, not behind a ping still in flight: the process is about to exit.
      await run(['STOPPING=1']);
    },
    close,
  };
}
