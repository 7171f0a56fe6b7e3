import { ConfigError, type Logger, type SmgrConfig } from '@smgr/shared';
import { probeRedis } from '../db/redis-probe.js';
import { mysqlConfigError, mysqlDependency, redisConfigError, redisDependency } from './dependency-errors.js';
import { waitForDependency } from './wait-for-dependency.js';

/** Retries a MySQL step until controller.startup_timeout; refused credentials end it at once (exit 78). */
export function waitForMysql(cfg: SmgrConfig, log: Logger, step: () => Promise<unknown>, cancelled: () => boolean): Promise<void> {
  const dep = mysqlDependency(cfg.database, cfg.source);
  return waitForDependency({
    dep,
    attempt: step,
    // A refused certificate or a plaintext refusal (ConfigError) will not heal by waiting either.
    configError: (err) => (err instanceof ConfigError ? err : mysqlConfigError(err, dep, cfg.database)),
    windowMs: cfg.controller.startupTimeoutMs,
    log,
    cancelled,
  });
}

/**
 * Waits until Redis answers (redis.url), up to controller.startup_timeout; a
 * refused password ends it at once (exit 78). Probed on a connection of its
 * own: the daemon's connections retry forever and hide the reason.
 */
export function waitForRedis(cfg: SmgrConfig, log: Logger, cancelled: () => boolean): Promise<void> {
  const dep = redisDependency(cfg.redis.url, cfg.source);
  return waitForDependency({
    dep,
    attempt: () => probeRedis(cfg.redis.url),
    // A server that accepts the connection and then says nothing must not stretch the window.
    boundAttempts: true,
    configError: (err) => redisConfigError(err, dep),
    windowMs: cfg.controller.startupTimeoutMs,
    log,
    cancelled,
  });
}

/** Runs a stop's steps in order; one that fails is logged and the next runs anyway. */
export async function runStopSteps(log: Logger, steps: [string, () => Promise<unknown> | undefined][]): Promise<void> {
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (err) {
      log.warn({ err, step: name }, 'error while stopping');
    }
  }
}
