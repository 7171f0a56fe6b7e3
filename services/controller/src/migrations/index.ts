import type { Migration } from './migration.js';
import { sqlMigration } from './sql-migration.js';
import { agentEventsByService } from './0005-agent-events-by-service.js';
import { agentCertExpiry } from './0012-agent-cert-expiry.js';

/**
 * Every migration, oldest first: `sqlMigration(NAME)` runs NAME.sql in this
 * folder. Append only; never edit a released one (deployments record them by
 * name). MySQL has no CREATE INDEX IF NOT EXISTS: indexes and added columns
 * are listed here, and the runner checks for them first.
 */
export const migrations: readonly Migration[] = [
  sqlMigration('0001-initial', { indexes: [{ table: 'STATUS_PROCESS', name: 'smgr_idx_alarma', columns: 'alarma' }] }),
  sqlMigration('0002-agent-events'),
  sqlMigration('0003-ha-lease', { indexes: [{ table: 'smgr_incidents', name: 'smgr_incidents_closed', columns: 'closed_at' }] }),
  sqlMigration('0004-api-and-rollouts'),
  agentEventsByService,
  sqlMigration('0006-host-claims'),
  sqlMigration('0007-operations'),
  sqlMigration('0009-notifications'),
  sqlMigration('0010-console-sessions'),
  sqlMigration('0011-fleet-secret'),
  agentCertExpiry,
];
export type { Migration } from './migration.js';
