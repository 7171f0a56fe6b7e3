import type { NotifyEvent, Severity } from '@smgr/shared';

/**
 * What a source saw: a condition started (`fire`) or ended (`resolve`).
 * An alert's life, kept in smgr_notify_alerts:
 *
 *   (none) ──fire──► firing ──resolve──► resolved ──fire──► firing (a new occurrence)
 *
 * A fire of a firing alert and a resolve of a resolved (or unknown) one
 * change nothing: that is the deduplication. One-off alerts (rollouts, log
 * matches, tests) are `resolvable: false` and never get a resolve message.
 */
export type Signal =
  | {
      readonly op: 'fire';
      readonly key: string;
      readonly event: NotifyEvent;
      readonly severity: Severity;
      readonly resolvable: boolean;
      readonly processId: number | null;
      readonly hostId: string | null;
      readonly service: string | null;
      readonly message: string;
      readonly at: Date;
    }
  | {
      readonly op: 'resolve';
      /** Exact alert keys, or every alert of a process / of a host's service, of the given events. */
      readonly match:
        | { readonly key: string }
        | { readonly processId: number; readonly events: readonly NotifyEvent[] }
        | { readonly hostId: string; readonly service: string; readonly events: readonly NotifyEvent[] };
      readonly at: Date;
    };

/** A row of smgr_notify_alerts. */
export interface AlertRow {
  readonly key: string;
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly state: 'firing' | 'resolved';
  readonly resolvable: boolean;
  readonly processId: number | null;
  readonly hostId: string | null;
  readonly service: string | null;
  readonly message: string;
  readonly firedAt: Date;
  readonly resolvedAt: Date | null;
  readonly notifiedFiring: boolean;
  readonly notifiedResolved: boolean;
}

/** One alert inside a message. */
export interface MessageAlert {
  readonly key: string;
  readonly event: NotifyEvent;
  readonly severity: Severity;
  readonly hostId: string | null;
  readonly service: string | null;
  readonly message: string;
  readonly firedAt: string;
  readonly resolvedAt: string | null;
}

/**
 * What a receiver gets: one group of alerts (same receiver, event and host),
 * all firing or all resolved. `id` is stable for the same content, so a
 * message enqueued twice (a crash between enqueue and marking) is delivered once.
 */
export interface NotificationMessage {
  readonly id: string;
  readonly status: 'firing' | 'resolved' | 'test';
  readonly receiver: string;
  readonly event: NotifyEvent | 'test';
  readonly severity: Severity;
  readonly hostId: string | null;
  /** All alerts in the group. */
  readonly count: number;
  /** At most notify.max_alerts_listed of them. */
  readonly alerts: readonly MessageAlert[];
  readonly title: string;
  readonly createdAt: string;
  readonly controllerId: string;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
