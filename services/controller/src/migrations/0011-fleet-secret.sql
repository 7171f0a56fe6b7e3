-- What the controllers of one fleet (one database) share.
--
-- - smgr_fleet_secrets: one row per secret, by name. `delivery` signs the
--   jobs a controller puts on another controller's delivery queue in Redis
--   (HMAC-SHA-256): a controller sends an agent only what a controller
--   signed, never what someone able to write to Redis put there. Created once
--   by the first controller that starts (crypto random bytes), read by every
--   controller at start; never logged.
-- - smgr_rollout_commands: rollout commands (pause, resume, promote, abort,
--   rollback) asked through a controller that does not lead. The leader,
--   which drives rollouts, takes them in order, applies them and writes the
--   outcome; the asking controller waits for it and answers the request.
--   Finished rows are deleted after a day.

CREATE TABLE IF NOT EXISTS smgr_fleet_secrets (
  name VARCHAR(32) NOT NULL PRIMARY KEY,
  secret VARBINARY(64) NOT NULL,
  created_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_rollout_commands (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  rollout_id BIGINT NOT NULL,
  command VARCHAR(16) NOT NULL,
  requested_by VARCHAR(64) NOT NULL,
  requested_at DATETIME(3) NOT NULL,
  state VARCHAR(12) NOT NULL,
  error_kind VARCHAR(16) NULL,
  error_code VARCHAR(64) NULL,
  error_message VARCHAR(1024) NULL,
  error_context VARCHAR(2048) NULL,
  finished_at DATETIME(3) NULL,
  KEY smgr_rollout_commands_state (state, id),
  KEY smgr_rollout_commands_finished (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
