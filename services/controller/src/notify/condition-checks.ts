import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Signal } from './alert-types.js';

/** An smgr_agents row as the agent check reads it. */
export interface AgentPresence {
  hostId: string;
  connected: boolean;
  lastSeen: Date | null;
}

/** agent_disconnected for every agent gone longer than `downAfterMs`; the keys are what is still wrong. */
export function agentDownSignals(
  agents: readonly AgentPresence[],
  now: number,
  downAfterMs: number,
  /** When this controller became active: agents get downAfterMs from then to come back to it. */
  activeSince = 0,
): { signals: Signal[]; keys: string[] } {
  const signals: Signal[] = [];
  for (const a of agents) {
    if (a.connected || a.lastSeen === null || Math.max(a.lastSeen.getTime(), activeSince) > now - downAfterMs) continue;
    signals.push({
      op: 'fire',
      key: `agent_disconnected:${a.hostId}`,
      event: 'agent_disconnected',
      severity: 'critical',
      resolvable: true,
      processId: null,
      hostId: a.hostId,
      service: null,
      message: `agent ${a.hostId} disconnected since ${a.lastSeen.toISOString()} (more than ${Math.round(downAfterMs / 1000)} s)`,
      at: new Date(now),
    });
  }
  return { signals, keys: signals.map((s) => (s.op === 'fire' ? s.key : '')) };
}

/** Every certificate in a PEM file (a CA bundle holds several). */
export function readCertificates(file: string): X509Certificate[] {
  const text = readFileSync(file, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * cert_expiry for each certificate in `files` ({setting: path}) that expires
 * within `warnDays`; an unreadable file fires too (a rotation that broke it
 * will stop the next start). Keys name the file and the certificate, so a
 * renewed certificate resolves the old alert.
 */
export function certExpirySignals(
  files: Readonly<Record<string, string>>,
  now: number,
  warnDays: number,
  controllerId: string,
): { signals: Signal[]; keys: string[] } {
  const signals: Signal[] = [];
  const fire = (key: string, message: string, critical: boolean) =>
    signals.push({
      op: 'fire',
      key,
      event: 'cert_expiry',
      severity: critical ? 'critical' : 'warning',
      resolvable: true,
      processId: null,
      hostId: controllerId,
      service: null,
      message,
      at: new Date(now),
    });
  for (const [setting, file] of Object.entries(files)) {
    if (file === '') continue;
    let certs: X509Certificate[];
    try {
      certs = readCertificates(file);
    } catch (err) {
      fire(`cert_expiry:${file}:unreadable`, `${setting} (${file}) cannot be read: ${(err as Error).message}`, true);
      continue;
    }
    for (const c of certs) {
      const until = new Date(c.validTo).getTime();
      const left = (until - now) / 86_400_000;
      if (left > warnDays) continue;
      const subject = c.subject.replace(/\n/g, ', ');
      const text = left <= 0 ? `expired on ${new Date(until).toISOString()}` : `expires in ${left.toFixed(1)} days (${new Date(until).toISOString()})`;
      fire(
        `cert_expiry:${file}:${c.fingerprint256.slice(0, 32)}`,
        `${setting} (${file}, ${subject}) ${text}; renew it (smgr pki renew) and send SIGHUP`,
        left <= 2,
      );
    }
  }
  return { signals, keys: signals.map((s) => (s.op === 'fire' ? s.key : '')) };
}

/** An smgr_agents row as the agent certificate check reads it. */
export interface AgentCertificate {
  hostId: string;
  /** When the client certificate of its last Hello expires; null: none seen (plaintext). */
  notAfter: Date | null;
}

/**
 * cert_expiry for each agent whose client certificate (as presented on its
 * mTLS stream) expires within `warnDays`, or has expired (such an agent cannot
 * connect again). The key holds the expiry: a renewed certificate, seen at the
 * agent's next Hello, resolves the alert.
 */
export function agentCertSignals(agents: readonly AgentCertificate[], now: number, warnDays: number): { signals: Signal[]; keys: string[] } {
  const signals: Signal[] = [];
  for (const a of agents) {
    if (a.notAfter === null) continue;
    const until = a.notAfter.getTime();
    const left = (until - now) / 86_400_000;
    if (left > warnDays) continue;
    const text = left <= 0 ? `expired on ${a.notAfter.toISOString()}` : `expires in ${left.toFixed(1)} days (${a.notAfter.toISOString()})`;
    signals.push({
      op: 'fire',
      key: `cert_expiry:agent:${a.hostId}:${until}`,
      event: 'cert_expiry',
      severity: left <= 2 ? 'critical' : 'warning',
      resolvable: true,
      processId: null,
      hostId: a.hostId,
      service: null,
      message: `the client certificate of agent ${a.hostId} ${text}; renew it (smgr pki renew DIR ${a.hostId}), copy it to the host and send the agent SIGHUP`,
      at: new Date(now),
    });
  }
  return { signals, keys: signals.map((s) => (s.op === 'fire' ? s.key : '')) };
}
