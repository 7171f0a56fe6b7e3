import type { Migration } from './migration.js';

/**
 * Recording a successful repair asks whether the agent has reported the same
 * service failing again since (OutcomeStore.failedAgainAfterRepair): an
 * index by host, service and time keeps that a lookup.
 */
export const agentEventsByService: Migration = {
  name: '0005-agent-events-by-service',
  statements: [],
  indexes: [{ table: 'smgr_agent_events', name: 'smgr_agent_events_service', columns: 'host_id(64), service(64), kind, at' }],
};
