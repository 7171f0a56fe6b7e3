import type { NotificationMessage } from './alert-types.js';

/** Sends one message to one receiver; throws DeliveryError when it was not accepted. */
export interface ReceiverSender {
  send(message: NotificationMessage): Promise<void>;
  /** Releases connections (SMTP pools). */
  close?(): void;
}

/** A delivery that failed; `retryable` false sends the message to the dead letters at once (a 4xx refusal). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Statuses worth retrying: server trouble, throttling, timeouts. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

/** One readable line per alert, for chat and mail. */
export function messageText(m: NotificationMessage): string {
  const lines = [m.title];
  for (const a of m.alerts) {
    const who = [a.hostId, a.service].filter((x) => x !== null && x !== '').join('/');
    lines.push(`- ${a.severity} ${a.event}${who ? ` ${who}` : ''}: ${a.message}`);
  }
  if (m.count > m.alerts.length) lines.push(`… and ${m.count - m.alerts.length} more`);
  lines.push(`(smgr controller ${m.controllerId}, message ${m.id})`);
  return lines.join('\n');
}
