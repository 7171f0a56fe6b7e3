import type { Logger } from '@smgr/shared';
import type { AgentStore } from './agent-store.js';
import type { AgentInfo } from './agent-info.js';

/**
 * Writes agents' comings and goings to smgr_agents in batches. Sessions report
 * every Hello, disconnect and heartbeat here; a flush (every `flushEveryMs`)
 * keeps only the last state per host and writes it in at most three
 * statements, so a reconnect storm or 10,000 heartbeating agents cost a few
 * writes per flush, not one per event. Flushes run one at a time, in order,
 * so a disconnect is never overtaken by an older connect.
 */
export class AgentPresence {
  private readonly last = new Map<string, { kind: 'up'; info: AgentInfo } | { kind: 'down' }>();
  private readonly heartbeats = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private lastError = 0;

  constructor(
    private readonly store: AgentStore,
    private readonly controllerId: string,
    log: Logger,
    private readonly flushEveryMs = 200,
  ) {
    this.log = log.child({ component: 'agent-presence' });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushEveryMs);
    this.timer.unref();
  }

  connected(info: AgentInfo): void {
    this.last.set(info.hostId, { kind: 'up', info });
  }

  disconnected(hostId: string): void {
    this.last.set(hostId, { kind: 'down' });
    this.heartbeats.delete(hostId);
  }

  heartbeat(hostId: string): void {
    this.heartbeats.add(hostId);
  }

  /** Writes what is pending, after any flush in progress. Never rejects; failures are retried next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Final flush. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.last.size === 0 && this.heartbeats.size === 0) return;
    const batch = new Map(this.last);
    const beats = [...this.heartbeats];
    this.last.clear();
    this.heartbeats.clear();
    const at = new Date();
    const up: AgentInfo[] = [];
    const down: string[] = [];
    for (const [hostId, e] of batch) {
      if (e.kind === 'up') up.push(e.info);
      else down.push(hostId);
    }
    try {
      // Chunks keep each statement well under max_allowed_packet.
      for (let i = 0; i < up.length; i += 1000) await this.store.upsertConnectedMany(up.slice(i, i + 1000), this.controllerId, at);
      for (let i = 0; i < down.length; i += 5000) await this.store.markDisconnectedMany(down.slice(i, i + 5000), this.controllerId, at);
      const fresh = beats.filter((h) => !batch.has(h));
      for (let i = 0; i < fresh.length; i += 5000) await this.store.touch(fresh.slice(i, i + 5000), at);
    } catch (err) {
      // Put back what was not written unless something newer arrived meanwhile.
      for (const [hostId, e] of batch) if (!this.last.has(hostId)) this.last.set(hostId, e);
      for (const h of beats) this.heartbeats.add(h);
      if (Date.now() - this.lastError > 10_000) {
        this.lastError = Date.now();
        this.log.warn({ err: (err as Error).message, pending: this.last.size }, 'could not persist agent presence; will retry');
      }
    }
  }
}
