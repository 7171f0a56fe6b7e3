import type { Redis } from 'ioredis';
import { ConfigError, type Logger } from '@smgr/shared';
import { currentHolder, holderIsDeadHere, parseHolder } from '../ha/holder-identity.js';

export interface ControllerIdentityOptions {
  redis: Redis;
  /** redis.prefix: the key lives beside the fleet's other records. */
  prefix: string;
  controllerId: string;
  /** How long the claim lasts without a renewal; renewed every ttl/3. */
  ttlMs: number;
  /** The config file, named in the error. */
  source: string;
  log: Logger;
  /** How often a taken key is looked at while waiting; default 200 ms. */
  pollMs?: number;
}

// Renew while ours; take it back if it lapsed (Redis restarted). Returns the holder now.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] or not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return v`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * One running process per controller id: `<prefix>:smgr:fleet:id:<id>` holds
 * the running process's holder token (SET NX, PX ttl, renewed every ttl/3).
 * Two controllers with one id would share a delivery queue, host routes and
 * agent rows, and silently misroute jobs; the second one refuses to start.
 *
 * A key left by a process that died is not a duplicate: when it names a
 * process provably gone (same boot and PID namespace) it is taken at once;
 * otherwise start waits while watching it: a holder alive renews it (its TTL
 * goes up: a duplicate, ConfigError, exit 78), a dead one lets it lapse
 * within the ttl and this process takes it.
 */
export class ControllerIdentity {
  readonly token: string;
  private timer: NodeJS.Timeout | null = null;
  private readonly key: string;
  private readonly log: Logger;

  constructor(private readonly opts: ControllerIdentityOptions) {
    this.token = currentHolder(opts.controllerId);
    this.key = `${opts.prefix}:smgr:fleet:id:${opts.controllerId}`;
    this.log = opts.log.child({ component: 'controller-identity' });
  }

  /** @throws ConfigError when another live process runs with this controller id */
  async claim(): Promise<void> {
    const { redis, ttlMs } = this.opts;
    const deadline = Date.now() + ttlMs + 2_000;
    let seen: { holder: string; pttl: number } | null = null;
    let announced = false;
    for (;;) {
      if ((await redis.set(this.key, this.token, 'PX', ttlMs, 'NX')) === 'OK') break;
      const [holder, pttl] = await Promise.all([redis.get(this.key), redis.pttl(this.key)]);
      if (holder === null) continue;
      if (holderIsDeadHere(holder)) {
        await redis.eval(RELEASE, 1, this.key, holder);
        continue;
      }
      // Renewed (or taken by yet another process) since last seen: someone alive holds the id.
      if (seen && (holder !== seen.holder || pttl > seen.pttl + 50)) throw this.duplicate(holder);
      if (Date.now() > deadline) throw this.duplicate(holder);
      if (!announced)
        this.log.info({ controllerId: this.opts.controllerId, expiresInMs: pttl }, 'controller id still claimed; waiting to see whether its holder is alive');
      announced = true;
      seen = { holder, pttl };
      await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 200));
    }
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** Lets the id go (only while this process holds it). Idempotent. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Redis down: the claim lapses after the ttl (a queued command would hold the stop up).
    if (this.opts.redis.status !== 'ready') return;
    const done = this.opts.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
    await Promise.race([done, new Promise((r) => setTimeout(r, 1_000).unref())]);
  }

  private async renew(): Promise<void> {
    try {
      const holder = (await this.opts.redis.eval(RENEW, 1, this.key, this.token, this.opts.ttlMs)) as string;
      if (holder !== this.token) {
        this.log.error(
          { controllerId: this.opts.controllerId, other: describe(holder) },
          'another process claimed this controller id; give every controller its own [controller] id',
        );
      }
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'could not renew the controller id claim; will retry');
    }
  }

  private duplicate(holder: string): ConfigError {
    return new ConfigError([
      {
        file: this.opts.source,
        key: 'controller.id',
        value: this.opts.controllerId,
        rule: `another controller with this id is running (${describe(holder)}) on the same database and Redis; give each controller its own id`,
      },
    ]);
  }
}

function describe(holder: string): string {
  const h = parseHolder(holder);
  return h ? `host ${h.host}, pid ${h.pid}` : 'unknown process';
}
