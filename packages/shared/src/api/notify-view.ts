/** What POST /v1/notify/test, GET /v1/notify/alerts and POST /v1/notify/dead-letters/:id/retry answer, for the controller that serves them and the CLI that prints them. */
import type { NotifyEvent, Severity } from '../config/named-schema.js';

/** POST /v1/notify/test: whether the receiver accepted the test message. */
export interface NotifyTestView {
  receiver: string;
  /** The receiver's type (webhook, slack). */
  type: string;
  ok: boolean;
  messageId: string;
  /** Why it was not accepted. */
  error?: string;
}

/** An alert firing now (GET /v1/notify/alerts): one per condition. */
export interface FiringAlertView {
  key: string;
  event: NotifyEvent;
  severity: Severity;
  hostId: string | null;
  service: string | null;
  message: string;
  firedAt: string;
  /** A message was queued for it. */
  notified: boolean;
}

/** POST /v1/notify/dead-letters/:id/retry. */
export interface DeadLetterRetryView {
  id: string;
  requeued: true;
}
