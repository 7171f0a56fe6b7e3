/**
 * At most one log line per key per interval, so a flood of refusals (bad
 * tokens, a hostile agent) costs a line every few seconds, not one per
 * request. `hit(key)` says whether to log now and how many were suppressed
 * since the last line.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly now: () => number;

  constructor(
    private readonly intervalMs: number,
    now?: () => number,
    private readonly maxKeys = 10_000,
  ) {
    this.now = now ?? Date.now;
  }

  /** null: stay quiet; otherwise log now, mentioning `suppressed` earlier occurrences. */
  hit(key: string): { suppressed: number } | null {
    const now = this.now();
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return null;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    return { suppressed };
  }
}
