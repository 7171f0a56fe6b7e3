import type { Logger, SmgrConfig } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { JobSender } from '../agents/agent-jobs.js';
import type { HostClaims } from '../agents/host-claims.js';
import { RolloutEngine } from '../rollouts/rollout-engine.js';
import { OperationRunner } from '../operations/operation-runner.js';
import { ApiServer } from './api-server.js';
import type { ApiDeps, MetricsSource } from './api-types.js';
import { AuditLog } from './audit/audit-log.js';
import { TokenStore } from './auth/token-store.js';
import { ConsoleFeed } from './console/console-feed.js';
import { findConsoleAssets } from './console/console-assets.js';
import { SessionStore } from './console/session-store.js';

export interface OperatorApiOptions {
  config: SmgrConfig;
  pool: DbPool;
  registry: AgentRegistry;
  claims: HostClaims;
  /** Jobs to hosts anywhere in the fleet (JobRouter). */
  jobs: JobSender & { isConnected(hostId: string): boolean };
  /** Served at GET /metrics (viewer token) when given. */
  metrics?: MetricsSource;
  /** Counts API requests refused with 401 or 429. */
  refusals?: { inc(labels: { status: string }): void };
  /** Notifications' API side (notify/notifier.ts). */
  notify?: ApiDeps['notify'];
  /** Usage reports of the fleet's agents (GET /v1/usage; fleet/fleet-usage.ts). */
  usage?: ApiDeps['usage'];
  log: Logger;
}

/**
 * What operators and CI/CD reach: the HTTP API (when api.enabled) and the
 * rollout engine. The controller starts it after the agent gateway, calls
 * activate() / deactivate() as it gains and loses the HA lease (only the
 * active controller drives rollouts; it resumes those left active), and stops
 * it first.
 */
export class OperatorApi {
  readonly rollouts: RolloutEngine;
  readonly operations: OperationRunner;
  /** Bound port of the HTTP API; 0 while it is not listening. */
  apiPort = 0;
  private api: ApiServer | null = null;

  constructor(private readonly opts: OperatorApiOptions) {
    this.rollouts = new RolloutEngine({
      pool: opts.pool,
      jobs: opts.jobs,
      hosts: opts.registry,
      log: opts.log,
      defaultJobTimeoutMs: opts.config.monitor.jobTimeoutMs,
    });
    this.operations = new OperationRunner({
      pool: opts.pool,
      hosts: opts.registry,
      jobs: opts.jobs,
      controllerId: opts.config.controller.id,
      retentionDays: opts.config.monitor.eventRetentionDays,
      log: opts.log,
    });
  }

  /** Opens the HTTP API (reads work on a standby too). */
  async start(): Promise<void> {
    const cfg = this.opts.config;
    if (!cfg.api.enabled) {
      this.opts.log.info({ component: 'api' }, 'api disabled (api.enabled = false)');
      return;
    }
    // Operations this controller left running when it last stopped or died can no longer finish.
    await this.operations.recover().catch((err) => this.opts.log.warn({ component: 'operations', err }, 'unfinished operations not marked interrupted'));
    this.api = new ApiServer(
      {
        pool: this.opts.pool,
        hosts: this.opts.registry,
        claims: this.opts.claims,
        jobs: this.opts.jobs,
        usage: this.opts.usage,
        rollouts: this.rollouts,
        operations: this.operations,
        tokens: new TokenStore(this.opts.pool),
        audit: new AuditLog(this.opts.pool),
        controllerId: cfg.controller.id,
        operationTimeoutMs: cfg.api.operationTimeoutMs,
        tokenTtlMs: cfg.api.tokenTtlMs,
        metrics: this.opts.metrics,
        rateLimit: { max: cfg.api.rateLimitMax, windowMs: cfg.api.rateLimitWindowMs },
        refusals: this.opts.refusals,
        notify: this.opts.notify,
        console: {
          sessions: new SessionStore(this.opts.pool, cfg.api.sessionTtlMs),
          feed: new ConsoleFeed({ pool: this.opts.pool, hosts: this.opts.registry, maxClients: cfg.api.consoleMaxClients, log: this.opts.log }),
          assetsDir: findConsoleAssets(),
          secureCookies: !cfg.api.insecure,
        },
        log: this.opts.log,
      },
      { listen: cfg.controller.apiListen, insecure: cfg.api.insecure, cert: cfg.api.cert, key: cfg.api.key, configSource: cfg.source },
    );
    this.apiPort = await this.api.start();
  }

  /** SIGHUP: the HTTPS API serves the renewed api.cert/api.key to new connections. Throws when they cannot be read. */
  reloadCertificate(): void {
    this.api?.reloadCertificate();
  }

  /**
   * This controller holds the lease: drive rollouts, resuming the active ones
   * in the background (retried while MySQL cannot be read), so taking the
   * lease is never held up or failed by rollouts.
   */
  async activate(): Promise<void> {
    void this.rollouts.start();
  }

  /** Lease lost: stop driving (the next active controller resumes from the database). */
  async deactivate(): Promise<void> {
    await this.rollouts.stop();
  }

  /** Stops the API (requests in progress get a short grace), marks running operations interrupted, stops the rollout runners. Idempotent. */
  async stop(): Promise<void> {
    try {
      await this.api?.stop();
    } finally {
      this.api = null;
      this.apiPort = 0;
      try {
        await this.operations.stop();
      } finally {
        await this.rollouts.stop();
      }
    }
  }
}
