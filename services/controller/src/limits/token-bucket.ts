/** Options of a per-key token bucket. */
export interface TokenBucketOptions {
  /** Tokens a key starts with and can save up (the burst). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  now?: () => number;
  /** Keys tracked at most; the longest idle are forgotten first (a full bucket is the same as none). */
  maxKeys?: number;
}

/**
 * Token buckets by key (one per agent host): `take(key)` spends one token
 * if there is one. A pure core with an injectable clock so its decisions are
 * unit-tested without waiting.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenBucketOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** True when `key` had a token (now spent); false when it is over its rate. */
  take(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.opts.capacity, at: now };
    b.tokens = Math.min(this.opts.capacity, b.tokens + ((now - b.at) / 1000) * this.opts.refillPerSecond);
    b.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > (this.opts.maxKeys ?? 100_000)) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
