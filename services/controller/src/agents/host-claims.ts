import { NotFoundError, RefusedError, type AutoApproveRules, type HostForgetView, type Logger } from '@smgr/shared';
import type { DbPool } from '../db/pool.js';
import type { AgentStore } from './agent-store.js';
import type { ClaimRow, ClaimStore } from './claim-store.js';
import { withTransaction } from '../db/transaction.js';
import type { AgentInfo } from './agent-info.js';
import type { AgentRegistry } from './agent-registry.js';
import { claimsToChange, decideClaim, needsRowCheck, type ClaimState } from './claim-approval.js';

export interface HostClaimsOptions {
  pool: DbPool;
  store: ClaimStore;
  agents: AgentStore;
  registry: AgentRegistry;
  /** controller.auto_approve. */
  rules: AutoApproveRules;
  log: Logger;
  /** How often decisions made on another controller are read; default 2 s. */
  refreshEveryMs?: number;
  now?: () => Date;
}

/** What an operator decision changed. */
export interface ClaimChange {
  hostId: string;
  state: ClaimState;
  services: string[];
}

const RETRY_MS = 2_000;

/**
 * Host→service claims (docs/security.md, "Host claims"): decides each new
 * claim an agent's Hello brings (decideClaim), applies operators' approve /
 * reject / forget, and keeps the registry's claims in step with
 * smgr_host_claims. Until a claim is decided it counts as not approved; a
 * claim nobody else holds is decided at once, in the Hello, without MySQL.
 */
export class HostClaims {
  private readonly log: Logger;
  private readonly now: () => Date;
  /** Hosts with claims that need the PROCESE rows to be decided. */
  private readonly queued = new Set<string>();
  /** Decisions made but not yet written (a failed write is retried). */
  private unsaved: ClaimRow[] = [];
  private deciding: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watermark = new Date(0);
  private rowCount = 0;
  private stopped = false;

  constructor(private readonly opts: HostClaimsOptions) {
    this.log = opts.log.child({ component: 'host-claims' });
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Loads every claim into the registry (after the agents). On the first
   * start after the upgrade that brought claims (an empty table, known
   * agents), every service known agents declare is approved as it stands, so
   * an upgrade moves no placement.
   */
  async load(): Promise<void> {
    const { store, registry } = this.opts;
    if ((await store.isEmpty()) && registry.all().some((a) => a.services.length > 0)) {
      const at = this.now();
      const rows = registry.all().flatMap((a) =>
        a.services.map(
          (s): ClaimRow => ({
            hostId: a.hostId,
            service: s.name,
            state: 'approved',
            reason: 'held before host claims existed (upgrade)',
            decidedBy: 'upgrade',
            updatedAt: at,
          }),
        ),
      );
      await store.insertMany(rows);
      this.log.warn({ claims: rows.length, hosts: registry.all().length }, 'host claims introduced: every service known agents declare approved as it stands');
    }
    this.apply(await store.loadAll(), true);
    for (const a of registry.all()) if (registry.undecided(a.hostId).length > 0) this.queued.add(a.hostId);
    this.kick();
  }

  /** Reads decisions made on other controllers every refreshEveryMs. */
  start(): void {
    this.timer = setInterval(
      () => void this.refresh().catch((err) => this.log.debug({ err: (err as Error).message }, 'claims refresh failed')),
      this.opts.refreshEveryMs ?? 2_000,
    );
    this.timer.unref();
  }

  /** Waits for decisions in progress to be written. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    await this.deciding;
  }

  /**
   * A Hello was registered: decide the claims it brings that have no
   * decision. Those nobody else holds are decided now; the others once the
   * PROCESE rows have been read.
   */
  declared(info: AgentInfo): void {
    const { registry } = this.opts;
    const at = this.now();
    let later = false;
    for (const service of registry.undecided(info.hostId)) {
      const others = registry.hostsManaging(service).filter((h) => h !== info.hostId);
      if (needsRowCheck(others)) {
        later = true;
        continue;
      }
      this.record(info, service, false, others, at);
    }
    if (later) this.queued.add(info.hostId);
    if (later || this.unsaved.length > 0) this.kick();
  }

  /** Resolves once the claims declared so far are decided (an agent's events wait for it). */
  settled(): Promise<void> {
    return this.deciding;
  }

  /** Whether `hostId` holds an approved claim on `service`, once the claims declared so far are decided. */
  async isApproved(hostId: string, service: string): Promise<boolean> {
    await this.deciding;
    return this.opts.registry.claim(hostId, service)?.state === 'approved';
  }

  /** `smgr hosts approve HOST [--service S]`. */
  async approve(hostId: string, service: string | undefined, by: string): Promise<ClaimChange> {
    return this.decide(hostId, service, 'approve', by);
  }

  /** `smgr hosts reject HOST [--service S]`. */
  async reject(hostId: string, service: string | undefined, by: string): Promise<ClaimChange> {
    return this.decide(hostId, service, 'reject', by);
  }

  /**
   * `smgr hosts forget HOST`: a decommissioned host's claims and smgr_agents
   * row are deleted. Refused while its agent is connected (it would come
   * straight back): stop the agent first.
   */
  async forget(hostId: string, by: string): Promise<HostForgetView> {
    const { registry, agents, store } = this.opts;
    const refuse = () =>
      new RefusedError('HOST_CONNECTED', `host ${hostId} is connected; stop its agent (and revoke its certificate) before forgetting it`, {
        context: { hosts: [hostId] },
      });
    if (registry.get(hostId)?.connected) throw refuse();
    const result = await withTransaction(this.opts.pool, async (c) => {
      const agent = await agents.removeUnlessConnected(c, hostId);
      if (agent === 'connected') return 'connected' as const;
      const claims = await store.deleteHost(c, hostId);
      return { agent, claims };
    });
    if (result === 'connected') throw refuse();
    if (result.agent === 'absent' && result.claims === 0 && !registry.get(hostId)) {
      throw new NotFoundError(`unknown host ${hostId}`, { context: { hosts: [hostId] } });
    }
    registry.remove(hostId);
    this.queued.delete(hostId);
    this.log.warn({ hostId, claims: result.claims, by }, 'host forgotten');
    return { hostId, claims: result.claims };
  }

  /** Applies decisions other controllers wrote since the last read; a deletion makes it a full reload. */
  /**
   * Reads every decision again (FleetView's periodic resync): a decision
   * another controller wrote late, with an updated_at older than what
   * refresh() already saw, is picked up here.
   */
  async reloadAll(): Promise<void> {
    if (this.stopped) return;
    this.apply(await this.opts.store.loadAll(), true);
  }

  async refresh(): Promise<void> {
    if (this.stopped) return;
    const { rows, total } = await this.opts.store.changedSince(this.watermark);
    if (total < this.rowCount) {
      this.apply(await this.opts.store.loadAll(), true);
      return;
    }
    this.apply(rows, false);
    this.rowCount = Math.max(this.rowCount, total);
  }

  private async decide(hostId: string, service: string | undefined, action: 'approve' | 'reject', by: string): Promise<ClaimChange> {
    const { registry, store } = this.opts;
    await this.deciding;
    if (!registry.get(hostId) && registry.claimsOf(hostId).size === 0) {
      throw new NotFoundError(`unknown host ${hostId}`, { context: { hosts: [hostId] } });
    }
    const states = new Map([...registry.claimsOf(hostId)].map(([s, c]) => [s, c.state]));
    const services = claimsToChange(states, action, service);
    if (services === undefined) {
      throw new NotFoundError(`host ${hostId} has not claimed ${JSON.stringify(service)}`, { context: { hosts: [hostId], service } });
    }
    const state: ClaimState = action === 'approve' ? 'approved' : 'rejected';
    const at = this.now();
    const reason = `${state} by ${by}`;
    await store.setState(hostId, services, state, reason, by, at);
    for (const s of services) registry.setClaim(hostId, s, { state, reason, decidedBy: by, updatedAt: at.getTime() });
    const ambiguous = state === 'approved' ? services.filter((s) => registry.hostsManaging(s).length > 1) : [];
    this.log.warn({ hostId, services, state, by, nowOnSeveralHosts: ambiguous }, `claims ${state}`);
    return { hostId, state, services };
  }

  private record(info: AgentInfo, service: string, plainRow: boolean, others: string[], at: Date): void {
    const d = decideClaim({ hostId: info.hostId, labels: info.labels, service, otherHolders: others, plainRow, rules: this.opts.rules });
    const decidedBy = d.state === 'approved' ? 'auto_approve' : null;
    this.opts.registry.setClaim(info.hostId, service, { state: d.state, reason: d.reason, decidedBy, updatedAt: at.getTime() });
    this.unsaved.push({ hostId: info.hostId, service, state: d.state, reason: d.reason, decidedBy, updatedAt: at });
    if (d.state === 'pending') this.log.warn({ hostId: info.hostId, service, reason: d.reason }, 'claim held for approval');
  }

  private kick(): void {
    this.deciding = this.deciding
      .then(() => this.decideQueued())
      .catch((err) => {
        this.log.warn(
          { err: (err as Error).message, unsaved: this.unsaved.length, queued: this.queued.size },
          'could not decide or save host claims; will retry',
        );
        if (!this.stopped && !this.retry) {
          this.retry = setTimeout(() => {
            this.retry = null;
            this.kick();
          }, RETRY_MS);
          this.retry.unref();
        }
      });
  }

  private async decideQueued(): Promise<void> {
    const { registry, store } = this.opts;
    if (this.queued.size > 0) {
      const hosts = [...this.queued];
      const names = [...new Set(hosts.flatMap((h) => registry.undecided(h)))];
      const plain = await store.plainRowNames(names);
      const at = this.now();
      for (const h of hosts) {
        this.queued.delete(h);
        const info = registry.get(h);
        if (!info) continue;
        for (const service of registry.undecided(h)) {
          this.record(
            info,
            service,
            plain.has(service),
            registry.hostsManaging(service).filter((x) => x !== h),
            at,
          );
        }
      }
    }
    if (this.unsaved.length === 0) return;
    const batch = this.unsaved;
    this.unsaved = [];
    try {
      const inserted = await store.insertMany(batch);
      this.rowCount += inserted;
      // Another controller decided some of these first: its decisions stand.
      if (inserted < batch.length) this.apply(await store.loadAll(), true);
    } catch (err) {
      this.unsaved = batch.concat(this.unsaved);
      throw err;
    }
  }

  /** Puts rows into the registry; `all` means they are the whole table (claims not in it are dropped). */
  private apply(rows: ClaimRow[], all: boolean): void {
    const { registry } = this.opts;
    if (all) {
      const keep = new Set(rows.map((r) => `${r.hostId}\u0000${r.service}`));
      for (const a of registry.all()) {
        for (const s of [...registry.claimsOf(a.hostId).keys()]) if (!keep.has(`${a.hostId}\u0000${s}`)) registry.setClaim(a.hostId, s, undefined);
      }
      this.rowCount = rows.length;
    }
    for (const r of rows) {
      registry.setClaim(r.hostId, r.service, { state: r.state, reason: r.reason, decidedBy: r.decidedBy, updatedAt: r.updatedAt.getTime() });
      if (r.updatedAt > this.watermark) this.watermark = r.updatedAt;
    }
  }
}
