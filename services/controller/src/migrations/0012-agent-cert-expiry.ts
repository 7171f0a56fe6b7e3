import type { Migration } from './migration.js';

/**
 * When each agent's client certificate expires, as the controller saw it on
 * the agent's mTLS stream at its last Hello (NULL: plaintext, or not seen
 * yet). Kept in the row rather than in the controller that holds the
 * stream, so the active controller's notifier raises cert_expiry for agents
 * connected to any controller (active-active), and GET /v1/hosts shows it.
 */
export const agentCertExpiry: Migration = {
  name: '0012-agent-cert-expiry',
  statements: [],
  columns: [{ table: 'smgr_agents', name: 'cert_not_after', definition: 'DATETIME NULL' }],
};
