/**
 * Seed 002's circuit breaker, as a pure function of its persisted state and a
 * clock.
 *
 *   closed ──(failures reach max)──► open ──(reset time passes)──► half-open
 *     ▲                                                              │
 *     └────────────(trial succeeds)──────────────────────────────────┤
 *                  open ◄──(trial fails: open again for reset time)──┘
 *
 * Half-open is not stored: it is "failures >= max and openUntil has passed".
 */
export interface BreakerState {
  consecutiveFailures: number;
  /** Epoch ms until which repairs are blocked, or null. */
  openUntil: number | null;
}

export type BreakerDecision = { allowed: true; trial: boolean } | { allowed: false; openUntil: number };

export interface CircuitBreakerOptions {
  maxFailures: number;
  resetMs: number;
}

export const CLOSED: BreakerState = Object.freeze({ consecutiveFailures: 0, openUntil: null });

export class CircuitBreaker {
  constructor(private readonly opts: CircuitBreakerOptions) {}

  decide(state: BreakerState, now: number): BreakerDecision {
    if (state.openUntil !== null && now < state.openUntil) {
      return { allowed: false, openUntil: state.openUntil };
    }
    return { allowed: true, trial: state.consecutiveFailures >= this.opts.maxFailures };
  }

  onSuccess(): BreakerState {
    return CLOSED;
  }

  onFailure(state: BreakerState, now: number): BreakerState {
    const consecutiveFailures = state.consecutiveFailures + 1;
    const open = consecutiveFailures >= this.opts.maxFailures;
    return { consecutiveFailures, openUntil: open ? now + this.opts.resetMs : null };
  }
}
