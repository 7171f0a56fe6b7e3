import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { ServerTls, type Logger, type SmgrConfig } from '@smgr/shared';
import { createDbPool, databaseTlsError, type DbPool } from './db/pool.js';
import { migrate } from './db/migrator.js';
import { IncidentStore } from './repair/incident-store.js';
import { OutcomeStore } from './repair/outcome-store.js';
import { AgentStore } from './agents/agent-store.js';
import { AgentRegistry } from './agents/agent-registry.js';
import { AgentGateway } from './agents/agent-gateway.js';
import { AgentEventHandler } from './agents/agent-event-handler.js';
import { HostClaims } from './agents/host-claims.js';
import { ClaimStore } from './agents/claim-store.js';
import { AlarmPoller } from './repair/alarm-poller.js';
import { RepairWorker } from './repair/repair-worker.js';
import { CircuitBreaker } from './repair/circuit-breaker.js';
import { createRepairQueue, type RepairJobData } from './repair/repair-queue.js';
import { closeQuietly, logQueueError } from './db/bullmq.js';
import { closeRedis, createRedisConnection } from './db/redis-connection.js';
import { LeaderLease, type LeaseRole } from './ha/leader-lease.js';
import { ControllerMetrics } from './metrics/controller-metrics.js';
import { EventRetention } from './retention/event-retention.js';
import { OperatorApi } from './api/operator-api.js';
import { checkInsecureListeners } from './listen-policy.js';
import { reloadAgentTls, reloadApiCertificate } from './certificate-reload.js';
import { Notifier } from './notify/notifier.js';
import { listenConfigError } from './startup/dependency-errors.js';
import { runStopSteps, waitForMysql, waitForRedis } from './startup/wait-for-stores.js';
import { FleetMember } from './fleet/fleet-member.js';
import { loadFleetSecret } from './fleet/fleet-secret.js';
import { ControllerIdentity } from './fleet/controller-identity.js';

/**
 * Controller lifecycle:
 *   created ──start()──► running ──stop()──► stopped
 * start() migrates the schema, loads the agent registry, joins the fleet in
 * Redis (HostRoutes, FleetView, its delivery queue), opens the gRPC gateway
 * and the API, and competes for the lease (LeaderLease). Every controller
 * serves agent streams and the API, delivers jobs for the hosts it holds
 * (its own BullMQ delivery queue) and answers for the whole fleet. The lease
 * decides which one also leads:
 *   standby ──lease acquired──► active (leader) ──lease lost──► standby
 * Only the leader polls alarms, runs the repair worker, drives rollouts and
 * prunes history; its jobs reach hosts held elsewhere through JobRouter.
 * stop() (SIGTERM) stops polling, lets jobs in flight finish for a few
 * seconds, hands the rest back to the queue, tells its agents DRAINING (they
 * move to another controller at once), releases the lease, and closes
 * everything in reverse, running every step even when one fails.
 * How to run several: README.md, "Running several controllers".
 */
export type ControllerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface ControllerOptions {
  config: SmgrConfig;
  log: Logger;
  /** On SIGTERM, how long jobs in flight may take to finish before they are handed back; default 3 s. */
  stopGraceMs?: number;
  /** Metrics registry to use (tests); default a new one with Node process metrics. */
  metrics?: ControllerMetrics;
}

export class Controller {
  state: ControllerState = 'created';
  grpcPort = 0;
  /** Prometheus metrics; the HTTP API serves `metrics.registry` as GET /metrics. */
  readonly metrics: ControllerMetrics;
  private readonly cfg: SmgrConfig;
  private readonly log: Logger;
  private pool: DbPool | null = null;
  private redis: Redis[] = [];
  private queue: Queue<RepairJobData> | null = null;
  private gateway: AgentGateway | null = null;
  /** This process's claim on controller.id in Redis: a second process with the same id exits 78. */
  private identity: ControllerIdentity | null = null;
  /** Host routes, delivery queues, job routing and shared usage (fleet/fleet-member.ts). */
  private member: FleetMember | null = null;
  private poller: AlarmPoller | null = null;
  private worker: RepairWorker | null = null;
  private workerRedis: Redis | null = null;
  private lease: LeaderLease | null = null;
  private retention: EventRetention | null = null;
  private store: IncidentStore | null = null;
  private agentStore: AgentStore | null = null;
  private registry: AgentRegistry | null = null;
  /** Host→service claims: decided on Hello, changed by operators through the API. */
  private claims: HostClaims | null = null;
  private breaker: CircuitBreaker | null = null;
  /** HTTP API and rollout engine (api/operator-api.ts): listens after the gateway, stops first. */
  private operatorApi: OperatorApi | null = null;
  /** The gRPC server's TLS material, reloaded on SIGHUP and when the CRL file changes. */
  private serverTls: ServerTls | null = null;
  /** Notifications (notify/): delivered by the active controller only. */
  private notifier: Notifier | null = null;
  private readonly onSighup = () => {
    this.reloadTls('SIGHUP');
    if (this.operatorApi && this.cfg.api.enabled && !this.cfg.api.insecure) reloadApiCertificate(this.operatorApi, this.log);
  };

  constructor(private readonly opts: ControllerOptions) {
    this.cfg = opts.config;
    this.log = opts.log;
    this.metrics = opts.metrics ?? new ControllerMetrics();
  }

  /** The HA role now: 'active' repairs, 'standby' waits for the lease. */
  get role(): LeaseRole {
    return this.lease?.role ?? 'standby';
  }

  async start(): Promise<void> {
    this.state = 'starting';
    const cfg = this.cfg;
    checkInsecureListeners(cfg);
    // Read first: bad TLS files are a config error (78) before anything connects.
    this.serverTls = new ServerTls(cfg.tls, cfg.source);
    this.pool = createDbPool(cfg.database, cfg.source);
    await this.waitForMysql(() =>
      migrate(this.pool!, this.log).catch((err: unknown) => {
        throw databaseTlsError(err, cfg.database, cfg.source) ?? err;
      }),
    );
    const deliverySecret = await loadFleetSecret(this.pool, 'delivery');
    await waitForRedis(cfg, this.log, () => this.state === 'stopping');
    const redisFor = () => {
      const r = this.newRedis();
      this.redis.push(r);
      return r;
    };
    // Before anything is written under this id (agent rows, routes, the delivery queue).
    this.identity = new ControllerIdentity({
      redis: redisFor(),
      prefix: cfg.redis.prefix,
      controllerId: cfg.controller.id,
      ttlMs: Math.max(cfg.controller.agentTtlMs, 3 * cfg.controller.heartbeatIntervalMs),
      source: cfg.source,
      log: this.log,
    });
    await this.identity.claim();
    const store = new IncidentStore(this.pool);
    const agentStore = new AgentStore(this.pool);
    const registry = new AgentRegistry();
    await agentStore.markAllDisconnected(cfg.controller.id);
    registry.load(await agentStore.loadAll());
    const claims = new HostClaims({
      pool: this.pool,
      store: new ClaimStore(this.pool),
      agents: agentStore,
      registry,
      rules: cfg.controller.autoApprove,
      log: this.log,
    });
    await claims.load();
    claims.start();
    this.claims = claims;

    const queueConn = redisFor();
    this.queue = createRepairQueue(queueConn, cfg.redis.prefix, logQueueError(this.log, 'warn', 'repair queue connection error', { queue: 'repair' }));

    this.breaker = new CircuitBreaker({ maxFailures: cfg.monitor.maxRestartFailures, resetMs: cfg.monitor.circuitResetMs });
    this.store = store;
    this.agentStore = agentStore;
    this.registry = registry;
    this.gateway = new AgentGateway({
      controllerId: cfg.controller.id,
      heartbeatIntervalMs: cfg.controller.heartbeatIntervalMs,
      agentTtlMs: cfg.controller.agentTtlMs,
      credentials: this.serverTls.credentials,
      requirePeerIdentity: !cfg.tls.insecure,
      checkCertificate: (der) => this.serverTls!.agentProblem(der),
      registry,
      claims,
      store: agentStore,
      log: this.log,
      metrics: this.metrics,
      onSession: (hostId, up) => this.member?.routes.changed(hostId, up),
      onAgentEvent: new AgentEventHandler({
        pool: this.pool,
        registry,
        claims,
        createMissingRows: cfg.controller.createMissingRows,
        onAlarmRaised: () => this.poller?.wake(),
        log: this.log,
      }).handle,
    });
    const gateway = this.gateway;
    const queue = this.queue;
    this.member = new FleetMember({
      config: cfg,
      connection: queueConn,
      workerConnection: redisFor(),
      newRedis: () => this.newRedis(),
      secret: deliverySecret,
      gateway,
      agents: agentStore,
      registry,
      claims,
      refused: this.metrics.deliveriesRefused,
      log: this.log,
    });
    await this.member.start();
    this.metrics.bind({
      connectedAgents: () => gateway.connectedCount(),
      isActive: () => this.role === 'active',
      queueCounts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
      openBreakers: () => store.countOpenBreakers(new Date()),
      serviceUsage: (maxAgeMs) => gateway.usage.all(maxAgeMs),
    });
    this.notifier = new Notifier({
      config: cfg,
      pool: this.pool,
      queueConnection: queueConn,
      workerConnection: redisFor,
      registry: this.metrics.registry,
      log: this.log,
    });
    this.operatorApi = new OperatorApi({
      notify: this.notifier,
      config: cfg,
      pool: this.pool,
      registry,
      claims,
      jobs: this.member.router,
      usage: this.member.usage,
      metrics: this.metrics.registry,
      refusals: this.metrics.apiRefusals,
      log: this.log,
    });
    await this.operatorApi.start().catch((err: unknown) => {
      throw listenConfigError(err, 'controller.api_listen', cfg.controller.apiListen, cfg.source) ?? err;
    });
    this.retention = new EventRetention({
      pool: this.pool,
      retentionDays: cfg.monitor.eventRetentionDays,
      auditRetentionDays: cfg.api.auditRetentionDays,
      log: this.log,
    });
    this.lease = new LeaderLease({
      pool: this.pool,
      controllerId: cfg.controller.id,
      ttlMs: cfg.controller.leaseTtlMs,
      log: this.log,
      onRoleChange: (role) => (role === 'active' ? this.activate() : this.deactivate()),
    });
    await this.waitForMysql(() => this.lease!.start());
    await this.lease.settled();
    this.grpcPort = await this.gateway.start(cfg.controller.grpcListen).catch((err: unknown) => {
      throw listenConfigError(err, 'controller.grpc_listen', cfg.controller.grpcListen, cfg.source) ?? err;
    });
    this.serverTls.watchCrl(() => this.reloadTls('CRL file changed'));
    process.on('SIGHUP', this.onSighup);
    this.state = 'running';
    this.log.info(
      {
        controllerId: cfg.controller.id,
        grpcPort: this.grpcPort,
        apiPort: this.operatorApi.apiPort,
        database: cfg.database.database,
        role: this.role,
        holder: this.lease.holder,
      },
      'controller running',
    );
  }

  /** Lease acquired: start repairing, then let agents in. */
  private async activate(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const cfg = this.cfg;
    const t0 = Date.now();
    // Rows left connected by a controller that died are stale; those of live controllers are not.
    await this.member!.routes.live()
      .then((live) => this.agentStore!.markDisconnectedUnlessOn(live.map((c) => c.id)))
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'could not reset agent connection flags'));
    this.workerRedis = this.newRedis();
    this.worker = new RepairWorker({
      connection: this.workerRedis,
      prefix: cfg.redis.prefix,
      store: this.store!,
      outcomes: new OutcomeStore(this.pool!),
      jobs: this.member!.router,
      breaker: this.breaker!,
      jobTimeoutMs: cfg.monitor.jobTimeoutMs,
      retryDelayMs: cfg.monitor.retryDelayMs,
      log: this.log,
      metrics: this.metrics,
    });
    this.worker.start();
    this.poller = new AlarmPoller({
      store: this.store!,
      queue: this.queue!,
      registry: this.registry!,
      breaker: this.breaker!,
      intervalMs: cfg.monitor.checkIntervalMs,
      retryDelayMs: cfg.monitor.retryDelayMs,
      log: this.log,
      metrics: this.metrics,
    });
    this.poller.start();
    this.retention!.start();
    this.notifier?.activate();
    // Decisions the previous active controller made on claims count before its agents say Hello here.
    await this.claims!.refresh().catch((err) => this.log.warn({ err: (err as Error).message }, 'could not read host claims; using those loaded'));
    await this.operatorApi?.activate();
    this.log.info({ tookMs: Date.now() - t0 }, 'repairing: poller and repair worker started');
  }

  /** Lease lost (or stopping): stop repairing and let go of agents and of jobs in flight. */
  private async deactivate(graceMs = 0, handBackCode = 'NOT_ACTIVE'): Promise<void> {
    const router = this.member?.router;
    const steps: [string, () => Promise<unknown> | undefined][] = [
      ['rollouts', () => this.operatorApi?.deactivate()],
      ['poller', () => this.poller?.stop()],
      ['retention', () => this.retention?.stop()],
      ['notifications', () => this.notifier?.deactivate()],
      ['worker', () => this.worker?.stop(graceMs, () => router?.handBack(handBackCode, 'this controller let go of the job'))],
      ['worker redis', () => closeRedis(this.workerRedis)],
    ];
    await runStopSteps(this.log, steps);
    this.poller = null;
    this.worker = null;
    this.workerRedis = null;
  }

  private newRedis(): Redis {
    // BullMQ needs maxRetriesPerRequest=null so blocking commands survive a Redis restart.
    const r = createRedisConnection(this.cfg.redis.url, { maxRetriesPerRequest: null });
    r.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
    return r;
  }

  /**
   * Stops polling, lets jobs in flight finish for `stopGraceMs`, hands the
   * rest back to the queue (the next active controller re-sends them under
   * the same job ids), releases the lease, closes connections. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    const t0 = Date.now();
    process.off('SIGHUP', this.onSighup);
    this.serverTls?.stop();
    await runStopSteps(this.log, [
      ['operator api', () => this.operatorApi?.stop()],
      ['lease', () => this.lease?.stop()],
      // Agents stay connected during the grace, so results of jobs in flight still arrive.
      [
        'repairing and deliveries',
        () =>
          Promise.all([this.deactivate(this.opts.stopGraceMs ?? 3_000, 'CONTROLLER_STOPPING'), this.member?.stopDeliveries(this.opts.stopGraceMs ?? 3_000)]),
      ],
      ['lease release', () => this.lease?.release()],
      // Agents move to another controller at once, rather than after a failed reconnect.
      ['drain', async () => this.gateway?.drain()],
      ...(this.member?.stopSteps() ?? []),
      ['gateway', () => this.gateway?.stop()],
      ['host claims', () => this.claims?.stop()],
      ['notify queue', () => this.notifier?.close()],
      ['queue', async () => this.queue && closeQuietly(this.queue)],
      ['controller id', () => this.identity?.release()],
      ['redis', () => Promise.all(this.redis.map(closeRedis))],
      ['mysql', () => this.pool?.end()],
    ]);
    this.state = 'stopped';
    this.log.info({ tookMs: Date.now() - t0 }, 'controller stopped');
  }

  /** Re-reads the agent-facing `[tls]` files (certificate-reload.ts); on SIGHUP and when the CRL file changes. */
  reloadTls(why: string): void {
    if (this.serverTls && !this.cfg.tls.insecure) reloadAgentTls(this.serverTls, this.gateway, this.log, why);
  }

  /** Retries a MySQL step until controller.startup_timeout; refused credentials end it at once (exit 78). */
  private waitForMysql(step: () => Promise<unknown>): Promise<void> {
    return waitForMysql(this.cfg, this.log, step, () => this.state === 'stopping');
  }
}
