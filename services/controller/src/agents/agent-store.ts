import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { DbPool } from '../db/pool.js';
import type { AgentInfo } from './agent-info.js';

const parseJson = <T>(text: unknown, fallback: T): T => {
  try {
    return typeof text === 'string' ? (JSON.parse(text) as T) : fallback;
  } catch {
    return fallback;
  }
};

const toAgentInfo = (r: RowDataPacket): AgentInfo => ({
  hostId: r.host_id as string,
  labels: parseJson(r.labels, {}),
  agentVersion: r.agent_version as string,
  services: parseJson(r.services, []),
  connected: false,
  lastSeen: r.last_seen ? (r.last_seen as Date).getTime() : null,
  certNotAfter: r.cert_not_after ? (r.cert_not_after as Date).getTime() : null,
});

/** smgr_agents: the persisted agent registry, so placement survives a controller restart. */
export class AgentStore {
  constructor(private readonly pool: DbPool) {}

  async loadAll(): Promise<AgentInfo[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_agents');
    return rows.map(toAgentInfo);
  }

  /** The records of these hosts (those that exist): a Hello on another controller changed them. */
  async loadMany(hostIds: readonly string[]): Promise<AgentInfo[]> {
    if (hostIds.length === 0) return [];
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM smgr_agents WHERE host_id IN (?)', [hostIds]);
    return rows.map(toAgentInfo);
  }

  /** Agents recorded as connected to controllers not in `live` (dead ones) are not connected. */
  async markDisconnectedUnlessOn(live: readonly string[]): Promise<void> {
    if (live.length === 0) await this.markEveryoneDisconnected();
    else await this.pool.query('UPDATE smgr_agents SET connected = 0 WHERE connected = 1 AND controller_id NOT IN (?)', [live]);
  }

  /** Many registrations in one statement: a reconnect storm of thousands of agents must not be thousands of writes. */
  async upsertConnectedMany(agents: readonly AgentInfo[], controllerId: string, at: Date): Promise<void> {
    if (agents.length === 0) return;
    const rows = agents.map((a) => [
      a.hostId,
      JSON.stringify(a.labels),
      a.agentVersion,
      JSON.stringify(a.services),
      1,
      controllerId,
      at,
      at,
      a.certNotAfter ? new Date(a.certNotAfter) : null,
    ]);
    await this.pool.query(
      `INSERT INTO smgr_agents (host_id, labels, agent_version, services, connected, controller_id, connected_at, last_seen, cert_not_after)
       VALUES ?
       ON DUPLICATE KEY UPDATE labels = VALUES(labels), agent_version = VALUES(agent_version), services = VALUES(services),
         connected = 1, controller_id = VALUES(controller_id), connected_at = VALUES(connected_at), last_seen = VALUES(last_seen),
         cert_not_after = VALUES(cert_not_after)`,
      [rows],
    );
  }

  /** Marks hosts down, unless another controller has registered them since. */
  async markDisconnectedMany(hostIds: readonly string[], controllerId: string, at: Date): Promise<void> {
    if (hostIds.length === 0) return;
    await this.pool.query('UPDATE smgr_agents SET connected = 0, last_seen = ? WHERE host_id IN (?) AND controller_id = ?', [at, hostIds, controllerId]);
  }

  /** On becoming the active controller: no agent is connected to anyone until it says Hello here. */
  async markEveryoneDisconnected(): Promise<void> {
    await this.pool.query('UPDATE smgr_agents SET connected = 0 WHERE connected = 1');
  }

  /** One statement for many heartbeats: per-heartbeat writes would not scale to a fleet. */
  async touch(hostIds: string[], at: Date): Promise<void> {
    if (hostIds.length === 0) return;
    await this.pool.query('UPDATE smgr_agents SET last_seen = ? WHERE host_id IN (?)', [at, hostIds]);
  }

  async markAllDisconnected(controllerId: string): Promise<void> {
    await this.pool.query('UPDATE smgr_agents SET connected = 0 WHERE controller_id = ?', [controllerId]);
  }

  /**
   * Deletes a host's row (forgetting a decommissioned host) inside the
   * caller's transaction, unless its agent is connected to some controller.
   */
  async removeUnlessConnected(c: Pick<PoolConnection, 'query'>, hostId: string): Promise<'removed' | 'absent' | 'connected'> {
    const [rows] = await c.query<RowDataPacket[]>('SELECT connected FROM smgr_agents WHERE host_id = ? FOR UPDATE', [hostId]);
    if (rows.length === 0) return 'absent';
    if (Number(rows[0]!.connected) === 1) return 'connected';
    await c.query('DELETE FROM smgr_agents WHERE host_id = ?', [hostId]);
    return 'removed';
  }
}
