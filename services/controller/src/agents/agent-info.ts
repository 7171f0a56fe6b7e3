/** What the controller knows about one agent (host). */
export interface AgentInfo {
  hostId: string;
  labels: Record<string, string>;
  agentVersion: string;
  services: { name: string; restartStrategy: string; startupRank: number; watched: boolean }[];
  connected: boolean;
  lastSeen: number | null;
}
