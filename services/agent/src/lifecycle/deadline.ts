/**
 * The time an operation has left. Every command of an operation gets at most
 * the smaller of its own limit and what is left, so no operation outlives its
 * deadline by more than a kill grace.
 */
export class Deadline {
  readonly at: number;

  constructor(
    readonly totalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.at = now() + totalMs;
  }

  remaining(): number {
    return Math.max(0, this.at - this.now());
  }

  expired(): boolean {
    return this.remaining() === 0;
  }

  /** `limitMs`, cut to what is left. */
  cap(limitMs: number): number {
    return Math.min(limitMs, this.remaining());
  }

  /** Waits `ms` unless that would pass the deadline; false when it would (nothing waited). */
  async sleep(ms: number): Promise<boolean> {
    if (ms <= 0) return true;
    if (ms >= this.remaining()) return false;
    await new Promise<void>((r) => setTimeout(r, ms));
    return true;
  }
}
