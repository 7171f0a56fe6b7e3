-- Host→service claims (docs/security.md, "Host claims"): one row per service
-- a host's agent has declared, with the decision on it. Only an `approved`
-- claim lets the host take part in placement by plain process name.
-- `updated_at` lets every controller pick up decisions made on another one.

CREATE TABLE IF NOT EXISTS smgr_host_claims (
  host_id VARCHAR(255) NOT NULL,
  service VARCHAR(255) NOT NULL,
  state VARCHAR(16) NOT NULL,
  reason VARCHAR(255) NOT NULL DEFAULT '',
  decided_by VARCHAR(64) NULL,
  first_seen DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (host_id, service),
  KEY smgr_host_claims_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
