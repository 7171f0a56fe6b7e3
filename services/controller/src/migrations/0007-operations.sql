-- Operations the API runs on hosts, and why rollout hosts failed.
--
-- - smgr_operations: one row per `POST /v1/operations`, written before any
--   job is sent; `controller_id` is the controller running it, so a
--   restarted controller can mark the ones it left unfinished `interrupted`.
--   Finished rows older than monitor.event_retention_days are deleted.
-- - smgr_operation_hosts: each selected host's progress (pending, running,
--   then its outcome) with the failing step's exit code and output tail.
-- - smgr_rollout_failures: the failing step of a rollout host's last failed
--   job (update, health probe or rollback), for `smgr rollout status`.

CREATE TABLE IF NOT EXISTS smgr_operations (
  id VARCHAR(32) NOT NULL PRIMARY KEY,
  operation VARCHAR(16) NOT NULL,
  service VARCHAR(255) NOT NULL,
  version VARCHAR(128) NULL,
  state VARCHAR(16) NOT NULL,
  controller_id VARCHAR(255) NOT NULL,
  timeout_ms INT NOT NULL,
  created_by VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  KEY smgr_operations_state (state, controller_id),
  KEY smgr_operations_finished (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_operation_hosts (
  operation_id VARCHAR(32) NOT NULL,
  host_id VARCHAR(255) NOT NULL,
  position INT NOT NULL,
  state VARCHAR(16) NOT NULL,
  job_id VARCHAR(64) NOT NULL,
  message VARCHAR(1024) NOT NULL DEFAULT '',
  version VARCHAR(128) NOT NULL DEFAULT '',
  strategy VARCHAR(32) NOT NULL DEFAULT '',
  duration_ms BIGINT NOT NULL DEFAULT 0,
  failed_step VARCHAR(64) NULL,
  exit_code INT NULL,
  output_tail TEXT NULL,
  started_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  PRIMARY KEY (operation_id, host_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_rollout_failures (
  rollout_id BIGINT NOT NULL,
  host_id VARCHAR(255) NOT NULL,
  job_kind VARCHAR(16) NOT NULL,
  step VARCHAR(64) NOT NULL,
  exit_code INT NULL,
  output_tail TEXT NULL,
  message VARCHAR(1024) NOT NULL DEFAULT '',
  at DATETIME(3) NOT NULL,
  PRIMARY KEY (rollout_id, host_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
