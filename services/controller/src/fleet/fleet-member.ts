import type { Redis } from 'ioredis';
import type { Logger, SmgrConfig } from '@smgr/shared';
import type { AgentGateway } from '../agents/agent-gateway.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { AgentStore } from '../agents/agent-store.js';
import type { HostClaims } from '../agents/host-claims.js';
import { DeliveryClient, DeliveryWorker } from './delivery-queue.js';
import { FleetUsage } from './fleet-usage.js';
import { FleetView } from './fleet-view.js';
import { HostRoutes } from './host-routes.js';
import { JobRouter } from './job-router.js';

export interface FleetMemberOptions {
  config: SmgrConfig;
  /** Shared by routes, target queues and usage (no blocking commands). */
  connection: Redis;
  /** The delivery worker's (blocking) connection. */
  workerConnection: Redis;
  /** A new connection for each target's QueueEvents (closed by the client). */
  newRedis: () => Redis;
  /** The fleet's delivery secret (loadFleetSecret). */
  secret: Buffer;
  gateway: AgentGateway;
  agents: AgentStore;
  registry: AgentRegistry;
  claims: HostClaims;
  /** Counts deliveries refused unsent. */
  refused?: { inc(labels: { reason: string }): void };
  log: Logger;
}

/**
 * This controller's part in the fleet of controllers on one MySQL and Redis:
 * the host routes and liveness it publishes (HostRoutes), its view of the
 * others' hosts (FleetView), its delivery queue (DeliveryWorker), the jobs it
 * sends through the others' queues (DeliveryClient, JobRouter), and the
 * usage reports it shares (FleetUsage). Started after the gateway is built,
 * before it listens.
 */
export class FleetMember {
  readonly routes: HostRoutes;
  readonly view: FleetView;
  readonly router: JobRouter;
  readonly usage: FleetUsage;
  private readonly delivery: DeliveryWorker;
  private readonly client: DeliveryClient;

  constructor(opts: FleetMemberOptions) {
    const { config: cfg, gateway, connection, log } = opts;
    const controllerId = cfg.controller.id;
    const prefix = cfg.redis.prefix;
    const routes = new HostRoutes(
      { redis: connection, prefix, controllerId, ttlMs: Math.max(cfg.controller.agentTtlMs, 3 * cfg.controller.heartbeatIntervalMs), log },
      () => ({ hostIds: gateway.hostIds(), displaced: gateway.displacedCount() }),
    );
    this.routes = routes;
    const view = new FleetView({
      controllerId,
      routes,
      agents: opts.agents,
      registry: opts.registry,
      local: { isConnected: (h) => gateway.isConnected(h), connectedCount: () => gateway.connectedCount(), moveAgents: (n) => gateway.moveAgents(n) },
      rebalancePerSecond: cfg.controller.rebalanceRate,
      log,
      onReloaded: () => opts.claims.refresh(),
      onResync: () => opts.claims.reloadAll(),
    });
    this.view = view;
    this.client = new DeliveryClient({
      newRedis: opts.newRedis,
      connection,
      prefix,
      controllerId,
      secret: opts.secret,
      ownerOf: (h) => routes.ownerOf(h),
      log,
    });
    this.router = new JobRouter({
      controllerId,
      local: gateway.jobs,
      delivery: this.client,
      ownerOf: (h) => routes.ownerOf(h),
      connectedAnywhere: (h) => view.isConnected(h),
      log,
    });
    this.delivery = new DeliveryWorker({
      connection: opts.workerConnection,
      prefix,
      controllerId,
      jobs: gateway.jobs,
      secret: opts.secret,
      ...(opts.refused ? { refused: opts.refused } : {}),
      log,
    });
    this.usage = new FleetUsage({
      redis: connection,
      prefix,
      controllerId,
      local: gateway.usage,
      connectedHosts: () => routes.connectedHosts(),
      ownerOf: (h) => routes.ownerOf(h),
      log,
    });
  }

  /** Announces this controller, reads the fleet, starts delivering and sharing. */
  async start(): Promise<void> {
    await this.routes.start();
    await this.view.start();
    this.delivery.start();
    this.usage.start();
  }

  /** Takes no new deliveries; those in flight get `graceMs` (stop step 1, while agents are still connected). */
  stopDeliveries(graceMs: number): Promise<void> {
    return this.delivery.stop(graceMs);
  }

  /** The steps of leaving the fleet, in order, for the controller's stop (after its agents were told to move). */
  stopSteps(): [string, () => Promise<unknown>][] {
    return [
      ['fleet view', () => this.view.stop()],
      ['fleet usage', async () => this.usage.stop()],
      ['host routes', () => this.routes.stop()],
      ['delivery client', () => this.client.stop()],
    ];
  }
}
