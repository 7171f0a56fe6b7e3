import { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { serverCredentials, UnavailableError, type Logger, type SmgrConfig } from '@smgr/shared';
import { createDbPool, type DbPool } from './db/pool.js';
import { migrate } from './db/migrator.js';
import { IncidentStore } from './db/incident-store.js';
import { AgentStore } from './db/agent-store.js';
import { AgentRegistry } from './agents/agent-registry.js';
import { AgentGateway } from './agents/agent-gateway.js';
import { AlarmPoller } from './repair/alarm-poller.js';
import { RepairWorker } from './repair/repair-worker.js';
import { CircuitBreaker } from './repair/circuit-breaker.js';
import { createRepairQueue, type RepairJobData } from './repair/repair-queue.js';

/**
 * Controller lifecycle:
 *   created ──start()──► running ──stop()──► stopped
 * start() migrates the schema, loads the agent registry, opens the gRPC
 * gateway, then starts the repair worker and the alarm poller. stop() undoes
 * it in reverse and runs every step even when one fails.
 */
export type ControllerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ControllerOptions {
  config: SmgrConfig;
  log: Logger;
  /** Give up on MySQL/Redis at start after this long (exit 69). */
  startupTimeoutMs?: number;
}

export class Controller {
  state: ControllerState = 'created';
  grpcPort = 0;
  private readonly cfg: SmgrConfig;
  private readonly log: Logger;
  private pool: DbPool | null = null;
  private redis: Redis[] = [];
  private queue: Queue<RepairJobData> | null = null;
  private gateway: AgentGateway | null = null;
  private poller: AlarmPoller | null = null;
  private worker: RepairWorker | null = null;

  constructor(private readonly opts: ControllerOptions) {
    this.cfg = opts.config;
    this.log = opts.log;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const cfg = this.cfg;
    this.pool = createDbPool(cfg.database);
    await this.waitFor('MySQL', () => migrate(this.pool!, this.log));
    const store = new IncidentStore(this.pool);
    const agentStore = new AgentStore(this.pool);
    const registry = new AgentRegistry();
    await agentStore.markAllDisconnected(cfg.controller.id);
    registry.load(await agentStore.loadAll());

    const redisFor = () => {
      // BullMQ needs maxRetriesPerRequest=null so blocking commands survive a Redis restart.
      const r = new Redis(cfg.redis.url, { maxRetriesPerRequest: null });
      r.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
      this.redis.push(r);
      return r;
    };
    const queueConn = redisFor();
    await this.waitFor('Redis', () => withTimeout(queueConn.ping(), 2_000, 'no PONG within 2 s'));
    this.queue = createRepairQueue(queueConn, cfg.redis.prefix);

    const breaker = new CircuitBreaker({
      maxFailures: cfg.monitor.maxRestartFailures,
      resetMs: cfg.monitor.circuitResetMs,
    });
    this.gateway = new AgentGateway({
      controllerId: cfg.controller.id,
      heartbeatIntervalMs: cfg.controller.heartbeatIntervalMs,
      agentTtlMs: cfg.controller.agentTtlMs,
      credentials: serverCredentials(cfg.tls, cfg.source),
      requirePeerIdentity: !cfg.tls.insecure,
      registry,
      store: agentStore,
      log: this.log,
    });
    this.grpcPort = await this.gateway.start(cfg.controller.grpcListen);
    this.worker = new RepairWorker({
      connection: redisFor(),
      prefix: cfg.redis.prefix,
      store,
      gateway: this.gateway,
      breaker,
      jobTimeoutMs: cfg.monitor.jobTimeoutMs,
      retryDelayMs: cfg.monitor.retryDelayMs,
      log: this.log,
    });
    this.worker.start();
    this.poller = new AlarmPoller({
      store,
      queue: this.queue,
      registry,
      breaker,
      intervalMs: cfg.monitor.checkIntervalMs,
      retryDelayMs: cfg.monitor.retryDelayMs,
      log: this.log,
    });
    this.poller.start();
    this.state = 'running';
    this.log.info({ controllerId: cfg.controller.id, grpcPort: this.grpcPort, database: cfg.database.database }, 'controller running');
  }

  /** Stops polling, hands back jobs in flight, closes connections. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    const steps: [string, () => Promise<unknown> | undefined][] = [
      ['poller', () => this.poller?.stop()],
      ['worker', () => this.worker?.stop()],
      ['gateway', () => this.gateway?.stop()],
      ['queue', () => this.queue?.close()],
      ['redis', () => Promise.all(this.redis.map((r) => r.quit().catch(() => r.disconnect())))],
      ['mysql', () => this.pool?.end()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err, step: name }, 'error while stopping');
      }
    }
    this.state = 'stopped';
    this.log.info('controller stopped');
  }

  /** Retries a connect step with backoff, logging each failure, until the startup timeout. */
  private async waitFor(what: string, fn: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + (this.opts.startupTimeoutMs ?? 60_000);
    for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
      try {
        await fn();
        return;
      } catch (err) {
        if (Date.now() + delay > deadline || this.state === 'stopping') {
          throw new UnavailableError(`${what.toUpperCase()}_UNAVAILABLE`, `${what} unavailable: ${(err as Error).message}`, {
            cause: err,
          });
        }
        this.log.warn({ err: (err as Error).message, attempt, retryInMs: delay }, `waiting for ${what}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
