import type { Redis } from 'ioredis';
import type { Logger } from '@smgr/shared';

/** A controller alive in the fleet and what it holds. */
export interface LiveController {
  id: string;
  /** Agents connected to it. */
  agents: number;
  /** Of those, agents not on their first-choice address. */
  displaced: number;
}

export interface HostRoutesOptions {
  redis: Redis;
  /** redis.prefix: the fleet's keys live beside its queues. */
  prefix: string;
  controllerId: string;
  /** How long a route (and this controller's liveness) lasts without a refresh; refreshed every ttl/3. */
  ttlMs: number;
  log: Logger;
}

/** Routes per script call: keeps each call short and within Lua's argument limits. */
const CHUNK = 1000;

// SET each route to this controller and add the hosts to its member set.
const CLAIM = `
for i, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) end
redis.call('SADD', ARGV[3], unpack(ARGV, 4))
return #KEYS`;

// Renew routes still ours (or lapsed); a route another controller took is
// left alone and the host leaves our member set. Returns the hosts lost.
const REFRESH = `
local lost = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] or not v then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    redis.call('SADD', ARGV[3], ARGV[3 + i])
  else
    redis.call('SREM', ARGV[3], ARGV[3 + i])
    table.insert(lost, ARGV[3 + i])
  end
end
return lost`;

// Delete routes only while they still name this controller: an agent that
// already said Hello elsewhere keeps its new route.
const RELEASE = `
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
redis.call('SREM', ARGV[2], unpack(ARGV, 3))
return #KEYS`;

// Liveness by Redis's clock, so controllers' clocks need not agree.
const BEAT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i, id in ipairs(dead) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return dead`;

const LIVE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
local out = {}
for i, id in ipairs(ids) do
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[2], id) or '0 0')
end
return out`;

/**
 * The fleet's shared view of which controller holds which agent's stream, in
 * Redis beside the queues:
 *
 *   <prefix>:smgr:fleet:route:<host>   controller id, PX ttl, renewed while the stream lives
 *   <prefix>:smgr:fleet:hosts:<ctl>    the hosts a controller holds (fleet-wide presence)
 *   <prefix>:smgr:fleet:controllers    zset: controller id → liveness expiry (Redis clock)
 *   <prefix>:smgr:fleet:counts         hash: controller id → "agents displaced"
 *
 * Hellos and disconnects are batched and written every 100 ms; routes and
 * liveness are renewed every ttl/3. A controller that dies stops renewing:
 * its routes lapse after the ttl unless its agents have already said Hello
 * elsewhere (a Hello always takes the route), and it drops out of the live
 * set, so its member set no longer counts.
 */
export class HostRoutes {
  private readonly log: Logger;
  private readonly ups = new Set<string>();
  private readonly downs = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private writing: Promise<void> = Promise.resolve();
  private lastError = 0;
  private stopped = false;

  constructor(
    private readonly opts: HostRoutesOptions,
    /** The hosts connected here now, and how many of them are displaced. */
    private readonly local: () => { hostIds: string[]; displaced: number },
  ) {
    this.log = opts.log.child({ component: 'host-routes' });
  }

  /** The key prefix of the fleet's records. */
  get keyPrefix(): string {
    return `${this.opts.prefix}:smgr:fleet`;
  }

  private route(hostId: string): string {
    return `${this.keyPrefix}:route:${hostId}`;
  }

  private members(controllerId: string): string {
    return `${this.keyPrefix}:hosts:${controllerId}`;
  }

  /** Announces this controller and starts batching and renewing. */
  async start(): Promise<void> {
    await this.beat();
    this.timers.push(setInterval(() => void this.flush(), 100).unref());
    this.timers.push(setInterval(() => void this.renew(), Math.max(200, Math.floor(this.opts.ttlMs / 3))).unref());
  }

  /** A host's stream opened (true) or closed (false) here. */
  changed(hostId: string, up: boolean): void {
    if (this.stopped) return;
    if (up) {
      this.downs.delete(hostId);
      this.ups.add(hostId);
    } else {
      this.ups.delete(hostId);
      this.downs.add(hostId);
    }
  }

  /** The controller holding a host's stream, or null when none does (or its route lapsed). */
  async ownerOf(hostId: string): Promise<string | null> {
    return this.opts.redis.get(this.route(hostId));
  }

  /** Controllers alive now, with their agent counts, sorted by id. */
  async live(): Promise<LiveController[]> {
    const flat = (await this.opts.redis.eval(LIVE, 2, `${this.keyPrefix}:controllers`, `${this.keyPrefix}:counts`)) as string[];
    const out: LiveController[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [agents, displaced] = (flat[i + 1] ?? '0 0').split(' ').map(Number);
      out.push({ id: flat[i]!, agents: agents ?? 0, displaced: displaced ?? 0 });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Every host connected to a live controller, and to which. */
  async connectedHosts(): Promise<Map<string, string>> {
    const live = await this.live();
    const out = new Map<string, string>();
    const pipe = this.opts.redis.pipeline();
    for (const c of live) pipe.smembers(this.members(c.id));
    const res = (await pipe.exec()) ?? [];
    res.forEach(([err, hosts], i) => {
      if (err) throw err;
      for (const h of hosts as string[]) out.set(h, live[i]!.id);
    });
    return out;
  }

  /** Writes batched changes now; never rejects (failures are retried). */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeChanges());
    return this.writing;
  }

  /** Leaves the fleet: this controller's routes and liveness are removed. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.writing;
    const hosts = [...new Set([...this.local().hostIds, ...this.ups, ...this.downs])];
    this.ups.clear();
    this.downs.clear();
    try {
      await this.release(hosts);
      const r = this.opts.redis;
      await r
        .multi()
        .zrem(`${this.keyPrefix}:controllers`, this.opts.controllerId)
        .hdel(`${this.keyPrefix}:counts`, this.opts.controllerId)
        .del(this.members(this.opts.controllerId))
        .exec();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not remove this controller from the fleet registry; its entries lapse after the ttl');
    }
  }

  private async writeChanges(): Promise<void> {
    if (this.ups.size === 0 && this.downs.size === 0) return;
    const ups = [...this.ups];
    const downs = [...this.downs];
    this.ups.clear();
    this.downs.clear();
    try {
      await this.claim(ups);
      await this.release(downs);
    } catch (err) {
      for (const h of ups) if (!this.downs.has(h)) this.ups.add(h);
      for (const h of downs) if (!this.ups.has(h)) this.downs.add(h);
      this.warn(err, 'could not write host routes; will retry');
    }
  }

  private async claim(hostIds: string[]): Promise<void> {
    const { redis, controllerId, ttlMs } = this.opts;
    for (let i = 0; i < hostIds.length; i += CHUNK) {
      const chunk = hostIds.slice(i, i + CHUNK);
      await redis.eval(CLAIM, chunk.length, ...chunk.map((h) => this.route(h)), controllerId, ttlMs, this.members(controllerId), ...chunk);
    }
  }

  private async release(hostIds: string[]): Promise<void> {
    const { redis, controllerId } = this.opts;
    for (let i = 0; i < hostIds.length; i += CHUNK) {
      const chunk = hostIds.slice(i, i + CHUNK);
      await redis.eval(RELEASE, chunk.length, ...chunk.map((h) => this.route(h)), controllerId, this.members(controllerId), ...chunk);
    }
  }

  /** Renews the routes of the hosts connected here, and this controller's liveness. */
  private async renew(): Promise<void> {
    if (this.stopped) return;
    await this.writing;
    const { redis, controllerId, ttlMs } = this.opts;
    const pending = new Set([...this.ups, ...this.downs]);
    // Hosts with a change not yet written are left to that write.
    const hosts = this.local().hostIds.filter((h) => !pending.has(h));
    try {
      const lost: string[] = [];
      for (let i = 0; i < hosts.length; i += CHUNK) {
        const chunk = hosts.slice(i, i + CHUNK);
        lost.push(
          ...((await redis.eval(
            REFRESH,
            chunk.length,
            ...chunk.map((h) => this.route(h)),
            controllerId,
            ttlMs,
            this.members(controllerId),
            ...chunk,
          )) as string[]),
        );
      }
      if (lost.length > 0) this.log.info({ hosts: lost.slice(0, 20), count: lost.length }, 'hosts routed to another controller meanwhile');
      await this.beat();
    } catch (err) {
      this.warn(err, 'could not renew host routes; will retry');
    }
  }

  private async beat(): Promise<void> {
    const { hostIds, displaced } = this.local();
    const dead = (await this.opts.redis.eval(
      BEAT,
      2,
      `${this.keyPrefix}:controllers`,
      `${this.keyPrefix}:counts`,
      this.opts.controllerId,
      this.opts.ttlMs,
      `${hostIds.length} ${displaced}`,
    )) as string[];
    for (const id of dead) {
      // Its member set no longer counts; removing it keeps Redis tidy.
      await this.opts.redis.del(this.members(id));
      this.log.warn({ controllerId: id }, 'controller stopped renewing its liveness; its agents reconnect elsewhere');
    }
  }

  private warn(err: unknown, msg: string): void {
    if (Date.now() - this.lastError < 10_000) return;
    this.lastError = Date.now();
    this.log.warn({ err: (err as Error).message }, msg);
  }
}
