import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ReceiverConfig } from '@smgr/shared';
import type { NotificationMessage } from './alert-types.js';
import { DeliveryError, messageText, type ReceiverSender } from './receiver-sender.js';

/** type = email: plain-text mail over SMTP (nodemailer), STARTTLS required by default. */
export class EmailSender implements ReceiverSender {
  private readonly transport: Transporter;

  constructor(private readonly r: ReceiverConfig) {
    const s = r.smtp;
    this.transport = nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.security === 'tls',
      requireTLS: s.security === 'starttls',
      ignoreTLS: s.security === 'none',
      ...(s.user === '' ? {} : { auth: { user: s.user, pass: s.password } }),
      // The server's name is checked against its certificate (an IP against its IP SANs); SNI takes names only (RFC 6066).
      tls: {
        ...(s.ca === '' ? {} : { ca: readFileSync(s.ca) }),
        ...(isIP(s.host) ? {} : { servername: s.host }),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      },
      connectionTimeout: r.timeoutMs,
      greetingTimeout: r.timeoutMs,
      socketTimeout: r.timeoutMs,
    });
  }

  async send(m: NotificationMessage): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.r.from,
        to: [...this.r.to],
        subject: m.title.replace(/[\r\n]+/g, ' '),
        text: messageText(m),
        headers: { 'X-Smgr-Delivery': m.id, 'X-Smgr-Status': m.status },
      });
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      // 5xx SMTP replies are permanent (bad recipient, auth refused); the rest is worth a retry.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      throw new DeliveryError(`SMTP ${this.r.smtp.host}:${this.r.smtp.port}: ${e.code ?? ''} ${e.message}`.trim(), !permanent);
    }
  }

  close(): void {
    this.transport.close();
  }
}
