import type { Migration } from './migration.js';
import { initial } from './0001-initial.js';
import { agentEvents } from './0002-agent-events.js';
import { haLease } from './0003-ha-lease.js';
import { apiAndRollouts } from './0004-api-and-rollouts.js';
import { agentEventsByService } from './0005-agent-events-by-service.js';
import { hostClaims } from './0006-host-claims.js';
import { operations } from './0007-operations.js';
import { notifications } from './0009-notifications.js';
import { consoleSessions } from './0010-console-sessions.js';
import { fleetSecret } from './0011-fleet-secret.js';
import { agentCertExpiry } from './0012-agent-cert-expiry.js';

/** Every migration, oldest first. Append only; never edit a released one. */
export const migrations: readonly Migration[] = [
  initial,
  agentEvents,
  haLease,
  apiAndRollouts,
  agentEventsByService,
  hostClaims,
  operations,
  notifications,
  consoleSessions,
  fleetSecret,
  agentCertExpiry,
];
export type { Migration } from './migration.js';
