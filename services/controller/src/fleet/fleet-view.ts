import type { Logger } from '@smgr/shared';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { AgentStore } from '../agents/agent-store.js';
import type { HostRoutes } from './host-routes.js';
import { agentsToMove } from './rebalance.js';

export interface FleetViewOptions {
  controllerId: string;
  routes: HostRoutes;
  agents: Pick<AgentStore, 'loadMany'>;
  registry: AgentRegistry;
  /** This controller's streams: which hosts it holds, and asking some to move. */
  local: { isConnected(hostId: string): boolean; connectedCount(): number; moveAgents(n: number): string[] };
  /** controller.rebalance_rate: agents per second a controller above its share asks to move; 0: never. */
  rebalancePerSecond: number;
  log: Logger;
  /** Between reads of the fleet; default 1 s. */
  everyMs?: number;
  /** After hosts were reloaded: read the claim decisions the other controllers made for them (HostClaims.refresh). */
  onReloaded?: () => Promise<void>;
  /**
   * Every this long every host held elsewhere is read again, then onResync
   * (HostClaims.reloadAll): whatever a reload raced with (a row or a claim
   * written late under load) is caught up. Default 15 s.
   */
  resyncEveryMs?: number;
  onResync?: () => Promise<void>;
}

/**
 * This controller's view of the whole fleet, so its API, placement and
 * operations answer for every agent and not only those connected here: every
 * second it reads which hosts are connected to which live controller
 * (HostRoutes), marks them connected in the registry, and reloads from
 * smgr_agents the hosts that said Hello elsewhere (their services and labels
 * may have changed; the row is read a tick later, once that controller has
 * written it). Then, when this controller holds more than its share of the
 * live controllers' agents, it asks up to `rebalancePerSecond` of them to
 * move (agents on a second-choice address first; see AgentGateway.moveAgents).
 */
export class FleetView {
  private readonly log: Logger;
  private connected = new Map<string, string>();
  private reloadNext = new Set<string>();
  private lastResync = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private lastError = 0;
  /** Agents asked to move so far (tests, metrics). */
  moved = 0;

  constructor(private readonly opts: FleetViewOptions) {
    this.log = opts.log.child({ component: 'fleet-view' });
  }

  /** Whether a host is connected to some live controller, as last read. */
  isConnected(hostId: string): boolean {
    return this.connected.has(hostId);
  }

  /** Which controller held the host at the last read. */
  controllerOf(hostId: string): string | undefined {
    return this.connected.get(hostId);
  }

  async start(): Promise<void> {
    await this.tick();
    const every = this.opts.everyMs ?? 1_000;
    const loop = () => {
      this.timer = setTimeout(() => {
        this.ticking = this.tick().finally(() => {
          this.ticking = null;
          if (this.timer) loop();
        });
      }, every);
      this.timer.unref();
    };
    loop();
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
  }

  /** One read of the fleet (and one rebalancing step). Never rejects. */
  async tick(): Promise<void> {
    try {
      await this.refresh();
      await this.rebalance();
    } catch (err) {
      if (Date.now() - this.lastError > 10_000) {
        this.lastError = Date.now();
        this.log.warn({ err: (err as Error).message }, 'could not read the fleet from Redis; using the last view');
      }
    }
  }

  private async refresh(): Promise<void> {
    const { registry, local } = this.opts;
    const now = await this.opts.routes.connectedHosts();
    // A host new here is read at once (placement should not wait) and once more a tick later, in
    // case its controller had not written its row yet.
    const fresh = new Set<string>();
    for (const [h, ctl] of now) if (ctl !== this.opts.controllerId && this.connected.get(h) !== ctl) fresh.add(h);
    const resync = Date.now() - this.lastResync >= (this.opts.resyncEveryMs ?? 15_000);
    if (resync) this.lastResync = Date.now();
    const wanted = resync ? now.keys() : new Set([...this.reloadNext, ...fresh]);
    const reload = [...wanted].filter((h) => !local.isConnected(h));
    this.reloadNext = fresh;
    this.connected = now;
    for (let i = 0; i < reload.length; i += 1000) {
      for (const info of await this.opts.agents.loadMany(reload.slice(i, i + 1000))) {
        if (local.isConnected(info.hostId)) continue;
        registry.put({ ...info, connected: now.has(info.hostId) });
      }
    }
    if (resync) await this.opts.onResync?.();
    else if (reload.length > 0) await this.opts.onReloaded?.();
    const at = Date.now();
    for (const a of registry.all()) {
      const up = local.isConnected(a.hostId) || now.has(a.hostId);
      if (a.connected !== up) registry.setConnected(a.hostId, up, at);
    }
  }

  private async rebalance(): Promise<void> {
    if (this.opts.rebalancePerSecond <= 0) return;
    const live = await this.opts.routes.live();
    const perTick = Math.max(1, Math.round((this.opts.rebalancePerSecond * (this.opts.everyMs ?? 1_000)) / 1_000));
    const n = agentsToMove(this.opts.controllerId, this.opts.local.connectedCount(), live, perTick);
    if (n === 0) return;
    const asked = this.opts.local.moveAgents(n);
    this.moved += asked.length;
    if (asked.length > 0) {
      this.log.info(
        { asked: asked.length, hosts: asked.slice(0, 10), controllers: live.map((c) => `${c.id}:${c.agents}`) },
        'asked agents to move to rebalance the fleet',
      );
    }
  }
}
