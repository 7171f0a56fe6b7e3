import { createHmac } from 'node:crypto';
import type { ReceiverConfig } from '@smgr/shared';
import type { NotificationMessage } from './alert-types.js';
import { DeliveryError, messageText, retryableStatus, type ReceiverSender } from './receiver-sender.js';

/** Headers of a signed webhook delivery. */
export const SIGNATURE_HEADER = 'x-smgr-signature';
export const TIMESTAMP_HEADER = 'x-smgr-timestamp';
export const DELIVERY_HEADER = 'x-smgr-delivery';

/**
 * `sha256=` + hex HMAC-SHA256 over `TIMESTAMP.BODY` with the receiver's
 * secret. A receiver recomputes it, compares in constant time, and refuses a
 * timestamp older than a few minutes (a replayed request) and a delivery id it
 * has already seen.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

async function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw new DeliveryError(`POST ${new URL(url).origin} failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`, true);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return;
  throw new DeliveryError(`POST ${new URL(url).origin} answered ${res.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`, retryableStatus(res.status));
}

/** type = webhook: the message as JSON, signed. */
export class WebhookSender implements ReceiverSender {
  constructor(private readonly r: ReceiverConfig) {}

  async send(m: NotificationMessage): Promise<void> {
    const body = JSON.stringify({ version: 1, ...m });
    const ts = String(Math.floor(Date.now() / 1000));
    await post(
      this.r.url,
      body,
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: signWebhook(this.r.secret, ts, body), [DELIVERY_HEADER]: m.id },
      this.r.timeoutMs,
    );
  }
}

/** type = slack: an incoming-webhook `{"text": ...}` (Slack, Mattermost, Rocket.Chat). */
export class SlackSender implements ReceiverSender {
  constructor(private readonly r: ReceiverConfig) {}

  async send(m: NotificationMessage): Promise<void> {
    await post(this.r.url, JSON.stringify({ text: messageText(m) }), {}, this.r.timeoutMs);
  }
}
