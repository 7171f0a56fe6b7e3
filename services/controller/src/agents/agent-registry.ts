import type { AgentInfo } from './agent-info.js';

/**
 * In-memory view of every agent ever seen (loaded from smgr_agents at start,
 * updated on Hello), indexed by the services each manages so placement is a
 * map lookup.
 */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentInfo>();
  private readonly byService = new Map<string, Set<string>>();

  load(all: AgentInfo[]): void {
    for (const a of all) this.put(a);
  }

  put(a: AgentInfo): void {
    const old = this.agents.get(a.hostId);
    if (old) for (const s of old.services) this.byService.get(s.name)?.delete(a.hostId);
    this.agents.set(a.hostId, a);
    for (const s of a.services) {
      let set = this.byService.get(s.name);
      if (!set) this.byService.set(s.name, (set = new Set()));
      set.add(a.hostId);
    }
  }

  get(hostId: string): AgentInfo | undefined {
    return this.agents.get(hostId);
  }

  setConnected(hostId: string, connected: boolean, at: number): void {
    const a = this.agents.get(hostId);
    if (a) {
      a.connected = connected;
      a.lastSeen = at;
    }
  }

  /** Hosts whose agent manages `service`, sorted. */
  hostsManaging(service: string): string[] {
    return [...(this.byService.get(service) ?? [])].sort();
  }

  all(): AgentInfo[] {
    return [...this.agents.values()];
  }

  connectedCount(): number {
    let n = 0;
    for (const a of this.agents.values()) if (a.connected) n++;
    return n;
  }
}
