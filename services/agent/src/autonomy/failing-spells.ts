/**
 * Which failing spells have been reported, and when to report again.
 *
 * A spell starts with the watch_failures-th failed check in a row and is
 * reported once (`watch_failed`; the controller raises the alarm). What ends
 * it, so that the next failure is reported again:
 * - a passing watch check (the service recovered by itself);
 * - a successful START, RESTART or UPDATE of the service by anyone (the
 *   controller's repair job, an operator's operation, an autonomous repair):
 *   the alarm that spell raised was cleared with it, so a failure after it is
 *   a new one;
 * - nothing else. While a spell goes on unrepaired it is reported again every
 *   `repeatMs`, so an alarm cleared by hand over a dead service comes back.
 *
 * Pure: fed a clock; the responder does the I/O.
 */
export class FailingSpells {
  /** service → when its spell was last reported (epoch ms). */
  private readonly reportedAt = new Map<string, number>();

  constructor(private readonly repeatMs: number) {}

  /** True when a failing check of `service` at `now` should be reported; marks it reported if so. */
  claimReport(service: string, now: number): boolean {
    const last = this.reportedAt.get(service);
    if (last !== undefined && now - last < this.repeatMs) return false;
    this.reportedAt.set(service, now);
    return true;
  }

  /** Marks the spell as reported by other means (a failed autonomous repair raised the alarm). */
  markReported(service: string, now: number): void {
    this.reportedAt.set(service, now);
  }

  /** The spell is over: the next failure is a new one. */
  end(service: string): void {
    this.reportedAt.delete(service);
  }
}
