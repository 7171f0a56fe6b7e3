import type { Hello } from '@smgr/shared';

/** What the controller knows about one agent (host). */
export interface AgentInfo {
  hostId: string;
  labels: Record<string, string>;
  agentVersion: string;
  services: { name: string; restartStrategy: string; startupRank: number; watched: boolean }[];
  connected: boolean;
  lastSeen: number | null;
  /** When the client certificate it presented at its last Hello expires (ms), or null (plaintext, not seen). */
  certNotAfter?: number | null;
}

/** A peer certificate's valid_to ("Mar  1 12:00:00 2027 GMT") in ms, or null when absent or unreadable. */
export function certificateNotAfter(validTo: string | undefined): number | null {
  if (!validTo) return null;
  const t = Date.parse(validTo);
  return Number.isFinite(t) ? t : null;
}

/** The AgentInfo of an agent whose Hello was accepted just now (connected, seen now). */
export function agentInfoFromHello(hello: Hello, certificateValidTo: string | undefined): AgentInfo {
  return {
    hostId: hello.hostId,
    labels: { ...hello.labels },
    agentVersion: hello.agentVersion,
    services: hello.services.map((s) => ({
      name: s.name,
      restartStrategy: s.restartStrategy,
      startupRank: s.startupRank,
      watched: s.watched,
    })),
    connected: true,
    lastSeen: Date.now(),
    certNotAfter: certificateNotAfter(certificateValidTo),
  };
}
