import { UnavailableError, type ConfigError, type Logger } from '@smgr/shared';
import { plainReason, type Dependency } from './dependency-errors.js';

export interface WaitForDependencyOptions {
  dep: Dependency;
  /** One try: connect, ask, close. Its error is classified. */
  attempt: () => Promise<unknown>;
  /** A ConfigError for errors no retry can cure (wrong password): thrown at once. */
  configError: (err: unknown) => ConfigError | undefined;
  /** The retry window announced in the log; the wait never runs past it. */
  windowMs: number;
  /**
   * Bound each try by what is left of the window (at least 2 s), so a
   * server that accepts connections and never answers cannot stretch it. Off
   * for steps that may legitimately take long once connected (migrations).
   */
  boundAttempts?: boolean;
  log: Logger;
  /** Ends the wait early (the daemon is stopping). */
  cancelled?: () => boolean;
}

/**
 * Tries a dependency until it answers or the announced window has passed.
 * The first failure is logged with the window ("waiting up to 60 s for Redis
 * at 127.0.0.1:6379 (redis.url)"); the end of the window is an
 * UnavailableError (exit 69) naming the address, the key and the reason.
 */
export async function waitForDependency(opts: WaitForDependencyOptions): Promise<void> {
  const { dep, log } = opts;
  const deadline = Date.now() + opts.windowMs;
  for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
    try {
      if (opts.boundAttempts) await withinWindow(opts.attempt(), Math.max(deadline - Date.now(), MIN_ATTEMPT_MS));
      else await opts.attempt();
      if (attempt > 1) log.info({ dependency: dep.name, address: dep.address, attempts: attempt }, `${dep.name} is reachable`);
      return;
    } catch (err) {
      const config = opts.configError(err);
      if (config !== undefined) throw config;
      const reason = plainReason(err);
      const left = deadline - Date.now();
      if (left <= 0 || opts.cancelled?.()) {
        throw new UnavailableError(
          `${dep.name.toUpperCase()}_UNAVAILABLE`,
          `${dep.name} at ${dep.address} (${dep.keys}) is unreachable: ${reason} (still after ${seconds(opts.windowMs)} s); start ${dep.name} or fix ${dep.keys}`,
          { cause: err, context: { address: dep.address } },
        );
      }
      const fields = { dependency: dep.name, address: dep.address, key: dep.keys, reason, attempt };
      if (attempt === 1) log.warn(fields, `waiting up to ${seconds(opts.windowMs)} s for ${dep.name} at ${dep.address} (${dep.keys})`);
      else log.debug({ ...fields, retryInMs: Math.min(delay, left) }, `still waiting for ${dep.name}`);
      // The last try lands on the deadline, so the window is used but never overrun.
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    }
  }
}

/** The shortest bound on one try, however little of the window is left. */
const MIN_ATTEMPT_MS = 2_000;

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

async function withinWindow(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      p,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
