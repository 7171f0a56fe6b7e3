import type { FastifyRequest } from 'fastify';
import type { HostForgetView, Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import type { AgentInfo } from '../agents/agent-info.js';
import type { HostUsage } from '../usage/service-usage-store.js';

/** Usage reports as the API reads them: this controller's (in memory) or the fleet's (Redis). */
export interface UsageSource {
  get(hostId: string): HostUsage | undefined | Promise<HostUsage | undefined>;
  all(): HostUsage[] | Promise<HostUsage[]>;
}
import type { Claim } from '../agents/agent-registry.js';
import type { ClaimChange } from '../agents/host-claims.js';
import type { HostDirectory } from '../rollouts/host-selection.js';
import type { JobSender } from '../rollouts/rollout-runner.js';
import type { RolloutEngine } from '../rollouts/rollout-engine.js';
import type { OperationRunner } from '../operations/operation-runner.js';
import type { Notifier } from '../notify/notifier.js';
import type { AuditLog, AuditOutcome } from './audit/audit-log.js';
import type { Role } from './auth/roles.js';
import type { Principal, TokenStore } from './auth/token-store.js';
import type { ConsoleDeps } from './console/console-routes.js';

/** A Prometheus registry as prom-client exposes it. */
export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}

/** Everything the routes use, injected so tests and the bench can build an API around real parts. */
export interface ApiDeps {
  pool: DbPool;
  hosts: HostDirectory & { all(): AgentInfo[]; claimsOf(hostId: string): ReadonlyMap<string, Claim> };
  /** Operators' decisions on host→service claims (HostClaims). */
  claims: {
    approve(hostId: string, service: string | undefined, by: string): Promise<ClaimChange>;
    reject(hostId: string, service: string | undefined, by: string): Promise<ClaimChange>;
    forget(hostId: string, by: string): Promise<HostForgetView>;
  };
  jobs: JobSender & { isConnected(hostId: string): boolean };
  rollouts: RolloutEngine;
  /** Runs POST /v1/operations in the background and keeps their progress. */
  operations: Pick<OperationRunner, 'start' | 'get'>;
  tokens: TokenStore;
  audit: AuditLog;
  controllerId: string;
  /** Longest (and default) time each host of an operation gets. */
  operationTimeoutMs: number;
  /** Validity of a token created without an explicit one; 0: none. */
  tokenTtlMs: number;
  /** The latest usage report of each connected agent, fleet-wide (GET /v1/usage; fleet/fleet-usage.ts). */
  usage?: UsageSource | undefined;
  /** Mounted at GET /metrics when present. */
  metrics?: MetricsSource | undefined;
  /** Requests per client address per window (api.rate_limit_max / rate_limit_window); none or max 0: unlimited. */
  rateLimit?: { max: number; windowMs: number } | undefined;
  /** Counts requests refused with 401 or 429, by status. */
  refusals?: { inc(labels: { status: string }): void } | undefined;
  /** Notifications (/v1/notify/...); absent: those routes answer 503. */
  notify?: Pick<Notifier, 'test' | 'deadLetters' | 'retryDeadLetter' | 'firingAlerts'> | undefined;
  /** The web console at /ui (sessions, live feed, assets); absent: no console routes, no session cookies. */
  console?: ConsoleDeps | undefined;
  log: Logger;
}

/** What the audit hook writes for a request; handlers may refine it. */
export interface AuditNote {
  target?: string;
  outcome?: AuditOutcome;
  detail?: unknown;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Least role allowed, or 'public' (health, OpenAPI). Every route must
     * say: one without is refused at start-up and, failing that, with 403.
     */
    role?: Role | 'public';
    /** Audited action name for changes, e.g. "rollout.start". */
    action?: string;
    /** What the change acts on, from params/body (body may be missing when auth failed). */
    target?: (req: FastifyRequest) => string;
  }
  interface FastifyRequest {
    principal: Principal | null;
    auditNote: AuditNote | null;
    /** The console session a request came with (cookie), when it did not use a bearer token. */
    consoleSession: { secret: string; expiresAt: Date } | null;
  }
}
