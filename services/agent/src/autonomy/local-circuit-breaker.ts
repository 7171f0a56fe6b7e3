/**
 * The agent's own circuit breaker for repairs it makes without the
 * controller (the controller keeps its own, per process and host, for the
 * repairs it orders). Same rules as seed 002's, kept in memory per service:
 *
 *   closed ──(max_restart_failures in a row)──► open ──(circuit_reset_time)──► half-open
 *     ▲                                                                          │
 *     └──────────────(trial succeeds)────────────────────────────────────────────┤
 *                     open ◄──(trial fails: open again for circuit_reset_time)───┘
 */
export type LocalBreakerDecision = { allowed: true; trial: boolean } | { allowed: false; openUntil: number };

export interface LocalCircuitBreakerOptions {
  maxFailures: number;
  resetMs: number;
  now?: () => number;
}

export class LocalCircuitBreaker {
  private readonly failures = new Map<string, number>();
  private readonly openUntil = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: LocalCircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  decide(service: string): LocalBreakerDecision {
    const until = this.openUntil.get(service);
    if (until !== undefined && this.now() < until) return { allowed: false, openUntil: until };
    return { allowed: true, trial: (this.failures.get(service) ?? 0) >= this.opts.maxFailures };
  }

  onSuccess(service: string): void {
    this.failures.delete(service);
    this.openUntil.delete(service);
  }

  onFailure(service: string): void {
    const n = (this.failures.get(service) ?? 0) + 1;
    this.failures.set(service, n);
    if (n >= this.opts.maxFailures) this.openUntil.set(service, this.now() + this.opts.resetMs);
  }
}
