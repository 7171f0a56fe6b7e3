/** What GET /v1/hosts, POST /v1/hosts/:hostId/approve|reject and DELETE /v1/hosts/:hostId answer, for the controller that serves them and the CLI that prints them. */

/** A host's decision on one service claim as the API shows it; 'undecided' only between its Hello and the decision. */
export interface HostClaimView {
  service: string;
  state: 'approved' | 'pending' | 'rejected' | 'undecided';
  /** Whether the host's agent declares the service today (a claim outlives the declaration). */
  declared: boolean;
  reason: string;
  decidedBy: string | null;
  /** ISO; null while undecided. */
  updatedAt: string | null;
}

/**
 * A host as the API shows it. `claims` has the decision on every service the
 * host declares and on services it claimed before and no longer declares.
 */
export interface HostView {
  hostId: string;
  connected: boolean;
  /** ISO; null when never seen. */
  lastSeen: string | null;
  agentVersion: string;
  /** When the client certificate of its last Hello expires (ISO; null: plaintext or not seen). */
  certNotAfter: string | null;
  labels: Record<string, string>;
  /** The services its agent declares. */
  services: string[];
  claims: HostClaimView[];
}

/** POST /v1/hosts/:hostId/approve|reject: the claims the decision changed, and those now on several hosts. */
export interface ClaimChangeView {
  hostId: string;
  state: 'approved' | 'pending' | 'rejected';
  services: string[];
  /** Services approved on this host that another host holds too: plain-named rows are ambiguous. */
  nowAmbiguous: string[];
}

/** DELETE /v1/hosts/:hostId: the host forgotten and how many claims were deleted with it. */
export interface HostForgetView {
  hostId: string;
  claims: number;
}
