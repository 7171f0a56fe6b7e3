import type { AgentInfo } from './agent-info.js';
import type { ClaimState } from './claim-approval.js';

/** A decided claim as the registry keeps it (smgr_host_claims row). */
export interface Claim {
  state: ClaimState;
  reason: string;
  decidedBy: string | null;
  updatedAt: number;
}

/**
 * In-memory view of every agent ever seen (loaded from smgr_agents at start,
 * updated on Hello) and of their host→service claims (smgr_host_claims,
 * through HostClaims), indexed so placement is a map lookup. The index holds
 * a host under a service only while the host declares the service AND its
 * claim is approved: a declared service with a pending, rejected or not yet
 * decided claim places nothing.
 */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentInfo>();
  private readonly claims = new Map<string, Map<string, Claim>>();
  private readonly byService = new Map<string, Set<string>>();
  private readonly declared = new Map<string, Set<string>>();

  load(all: AgentInfo[]): void {
    for (const a of all) this.put(a);
  }

  put(a: AgentInfo): void {
    const old = this.agents.get(a.hostId);
    if (old) for (const s of old.services) this.unindex(s.name, a.hostId);
    this.agents.set(a.hostId, a);
    this.declared.set(a.hostId, new Set(a.services.map((s) => s.name)));
    for (const s of a.services) this.reindex(a.hostId, s.name);
  }

  get(hostId: string): AgentInfo | undefined {
    return this.agents.get(hostId);
  }

  /** Forgets a host: its agent record and its claims. */
  remove(hostId: string): void {
    const a = this.agents.get(hostId);
    if (a) for (const s of a.services) this.unindex(s.name, hostId);
    this.agents.delete(hostId);
    this.declared.delete(hostId);
    this.claims.delete(hostId);
  }

  setConnected(hostId: string, connected: boolean, at: number): void {
    const a = this.agents.get(hostId);
    if (a) {
      a.connected = connected;
      a.lastSeen = at;
    }
  }

  /** Records a decision on a claim (undefined: the claim is gone). */
  setClaim(hostId: string, service: string, claim: Claim | undefined): void {
    let mine = this.claims.get(hostId);
    if (claim) {
      if (!mine) this.claims.set(hostId, (mine = new Map()));
      mine.set(service, claim);
    } else {
      mine?.delete(service);
    }
    this.reindex(hostId, service);
  }

  claim(hostId: string, service: string): Claim | undefined {
    return this.claims.get(hostId)?.get(service);
  }

  /** Every decided claim of a host, by service. */
  claimsOf(hostId: string): ReadonlyMap<string, Claim> {
    return this.claims.get(hostId) ?? new Map();
  }

  /** Services a host declares that have no decision yet. */
  undecided(hostId: string): string[] {
    const a = this.agents.get(hostId);
    const mine = this.claims.get(hostId);
    return a ? a.services.map((s) => s.name).filter((s) => !mine?.has(s)) : [];
  }

  /** Hosts whose agent declares `service` under an approved claim, sorted. */
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

  private reindex(hostId: string, service: string): void {
    if (this.declared.get(hostId)?.has(service) === true && this.claim(hostId, service)?.state === 'approved') {
      let set = this.byService.get(service);
      if (!set) this.byService.set(service, (set = new Set()));
      set.add(hostId);
    } else {
      this.unindex(service, hostId);
    }
  }

  private unindex(service: string, hostId: string): void {
    const set = this.byService.get(service);
    set?.delete(hostId);
    if (set?.size === 0) this.byService.delete(service);
  }
}
