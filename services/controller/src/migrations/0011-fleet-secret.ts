import type { Migration } from './migration.js';

/**
 * Secrets shared by the controllers of one fleet (one database).
 *
 * - smgr_fleet_secrets: one row per secret, by name. `delivery` signs the
 *   jobs a controller puts on another controller's delivery queue in Redis
 *   (HMAC-SHA-256): a controller sends an agent only what a controller
 *   signed, never what someone able to write to Redis put there. Created once
 *   by the first controller that starts (crypto random bytes), read by every
 *   controller at start; never logged.
 */
export const fleetSecret: Migration = {
  name: '0011-fleet-secret',
  statements: [
    `CREATE TABLE IF NOT EXISTS smgr_fleet_secrets (
       name VARCHAR(32) NOT NULL PRIMARY KEY,
       secret VARBINARY(64) NOT NULL,
       created_at DATETIME(3) NOT NULL
     ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
};
