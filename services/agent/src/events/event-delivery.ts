import type { AgentEvent, Logger } from '@smgr/shared';
import type { EventOutbox } from './event-outbox.js';

export interface EventDeliveryOptions {
  outbox: EventOutbox;
  /** Sends on the controller stream; false when it is down. */
  send: (event: AgentEvent) => boolean;
  log: Logger;
  /** An event sent this long ago without an ack is sent again (the controller may have failed to record it). */
  resendAfterMs?: number;
}

/**
 * Delivers the outbox: each new event at once when the controller is
 * connected, everything pending after each (re)connect, and again whatever
 * stays unacknowledged for `resendAfterMs`. At least once from here; the
 * controller's dedupe by event_id makes it exactly once in its history.
 */
export class EventDelivery {
  private readonly sentAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private readonly resendAfterMs: number;

  constructor(private readonly opts: EventDeliveryOptions) {
    this.log = opts.log.child({ component: 'event-delivery' });
    this.resendAfterMs = opts.resendAfterMs ?? 15_000;
  }

  /** Stores the event durably, then tries to send it. */
  publish(event: AgentEvent): void {
    const before = this.opts.outbox.dropped;
    this.opts.outbox.add(event);
    if (this.opts.outbox.dropped > before) {
      this.log.warn({ dropped: this.opts.outbox.dropped - before, kept: this.opts.outbox.size() }, 'event outbox full; oldest events dropped');
    }
    this.log.info({ eventId: event.eventId, kind: event.kind, service: event.service, pending: this.opts.outbox.size() }, 'event queued');
    this.sendOne(event);
  }

  /** The stream is (re)connected: send everything pending, oldest first. */
  connected(): void {
    this.sentAt.clear();
    const pending = this.opts.outbox.list();
    if (pending.length > 0) this.log.info({ pending: pending.length }, 'delivering pending events');
    for (const e of pending) if (!this.sendOne(e)) break;
  }

  /** The stream went down: nothing counts as sent any more. */
  disconnected(): void {
    this.sentAt.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  ack(eventId: string): void {
    this.sentAt.delete(eventId);
    if (this.opts.outbox.ack(eventId)) {
      this.log.info({ eventId, pending: this.opts.outbox.size() }, 'event acknowledged');
    }
  }

  /** Drops pending events that a newer one supersedes (they were never acknowledged). */
  supersede(pred: (e: AgentEvent) => boolean): void {
    for (const id of this.opts.outbox.removeWhere(pred)) {
      this.sentAt.delete(id);
      this.log.info({ eventId: id }, 'pending event superseded');
    }
  }

  stop(): void {
    this.disconnected();
  }

  private sendOne(event: AgentEvent): boolean {
    if (!this.opts.send(event)) return false;
    this.sentAt.set(event.eventId, Date.now());
    this.scheduleResend();
    return true;
  }

  private scheduleResend(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      for (const e of this.opts.outbox.list()) {
        const at = this.sentAt.get(e.eventId);
        if (at !== undefined && now - at < this.resendAfterMs) continue;
        if (at !== undefined) this.log.warn({ eventId: e.eventId, kind: e.kind }, 'event not acknowledged; sending again');
        if (!this.sendOne(e)) return;
      }
      if (this.sentAt.size > 0) this.scheduleResend();
    }, this.resendAfterMs);
    this.timer.unref();
  }
}
