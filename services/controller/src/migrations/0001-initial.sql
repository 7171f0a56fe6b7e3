-- smgr's own tables. The seed tables (PROCESE, STATUS_PROCESS) are left as they
-- are; only an index on the alarm flag is added so that polling costs in
-- proportion to the alarms, not to the table (index.ts: MySQL has no CREATE
-- INDEX IF NOT EXISTS, so the runner checks first).

CREATE TABLE IF NOT EXISTS smgr_agents (
  host_id VARCHAR(255) NOT NULL PRIMARY KEY,
  labels TEXT NOT NULL,
  agent_version VARCHAR(64) NOT NULL,
  services MEDIUMTEXT NOT NULL,
  connected TINYINT NOT NULL DEFAULT 0,
  controller_id VARCHAR(255) NULL,
  connected_at DATETIME(3) NULL,
  last_seen DATETIME(3) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_placement (
  process_id INT NOT NULL,
  host_id VARCHAR(255) NOT NULL,
  service VARCHAR(100) NULL,
  PRIMARY KEY (process_id, host_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_incidents (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  process_id INT NOT NULL,
  process_name VARCHAR(255) NOT NULL,
  service VARCHAR(255) NULL,
  host_id VARCHAR(255) NULL,
  state VARCHAR(16) NOT NULL,
  open_key INT NULL,
  attempts INT NOT NULL DEFAULT 0,
  job_id VARCHAR(128) NULL,
  next_attempt_at DATETIME(3) NULL,
  opened_at DATETIME(3) NOT NULL,
  closed_at DATETIME(3) NULL,
  last_message VARCHAR(1024) NULL,
  UNIQUE KEY smgr_incidents_open (open_key),
  KEY smgr_incidents_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at DATETIME(3) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  process_id INT NULL,
  incident_id BIGINT NULL,
  host_id VARCHAR(255) NULL,
  service VARCHAR(255) NULL,
  job_id VARCHAR(128) NULL,
  outcome VARCHAR(16) NULL,
  strategy VARCHAR(32) NULL,
  duration_ms INT NULL,
  message VARCHAR(1024) NOT NULL,
  detail MEDIUMTEXT NULL,
  KEY smgr_events_at (at),
  KEY smgr_events_process (process_id, at),
  KEY smgr_events_job (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_breakers (
  process_id INT NOT NULL,
  host_id VARCHAR(255) NOT NULL,
  consecutive_failures INT NOT NULL DEFAULT 0,
  open_until DATETIME(3) NULL,
  PRIMARY KEY (process_id, host_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
