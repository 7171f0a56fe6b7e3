-- The HTTP API's tokens and audit trail, and rolling updates.
--
-- - smgr_api_tokens: only the SHA-256 of each secret is kept; `name` is what
--   the audit trail shows.
-- - smgr_audit: one row per change attempted through the API (allowed or not).
-- - smgr_rollouts / smgr_rollout_hosts: every rollout state transition is
--   written here before it takes effect, so a restarted controller resumes.
--   `active_key` holds the service while the rollout is active and NULL after;
--   its unique index makes "one active rollout per service" a database fact.

CREATE TABLE IF NOT EXISTS smgr_api_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  role VARCHAR(16) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  created_by VARCHAR(64) NOT NULL,
  expires_at DATETIME(3) NULL,
  last_used_at DATETIME(3) NULL,
  revoked_at DATETIME(3) NULL,
  UNIQUE KEY smgr_api_tokens_name (name),
  UNIQUE KEY smgr_api_tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_audit (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(3) NOT NULL,
  token_name VARCHAR(64) NULL,
  role VARCHAR(16) NULL,
  action VARCHAR(64) NOT NULL,
  target VARCHAR(255) NOT NULL,
  outcome VARCHAR(16) NOT NULL,
  status_code INT NOT NULL,
  remote_addr VARCHAR(64) NULL,
  detail MEDIUMTEXT NULL,
  KEY smgr_audit_at (at),
  KEY smgr_audit_token (token_name, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_rollouts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  service VARCHAR(255) NOT NULL,
  version VARCHAR(128) NOT NULL,
  state VARCHAR(24) NOT NULL,
  paused_from VARCHAR(24) NULL,
  active_key VARCHAR(255) NULL,
  spec MEDIUMTEXT NOT NULL,
  current_batch INT NOT NULL DEFAULT 0,
  wait_until DATETIME(3) NULL,
  created_by VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  message VARCHAR(1024) NOT NULL DEFAULT '',
  UNIQUE KEY smgr_rollouts_active (active_key),
  KEY smgr_rollouts_service (service, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_rollout_hosts (
  rollout_id BIGINT NOT NULL,
  host_id VARCHAR(255) NOT NULL,
  position INT NOT NULL,
  batch INT NOT NULL,
  state VARCHAR(24) NOT NULL,
  previous_version VARCHAR(128) NULL,
  current_version VARCHAR(128) NULL,
  update_sent TINYINT NOT NULL DEFAULT 0,
  started_at DATETIME(3) NULL,
  updated_at DATETIME(3) NULL,
  healthy_since DATETIME(3) NULL,
  deadline_at DATETIME(3) NULL,
  finished_at DATETIME(3) NULL,
  probes INT NOT NULL DEFAULT 0,
  rollback_attempts INT NOT NULL DEFAULT 0,
  message VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (rollout_id, host_id),
  KEY smgr_rollout_hosts_position (rollout_id, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
