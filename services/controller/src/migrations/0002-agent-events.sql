-- Events agents report (watch failures, repairs they made on their own),
-- one row per event_id: agents re-send an event until it is acknowledged,
-- and this primary key, written in the same transaction as the event's
-- effects, makes each one count once.

CREATE TABLE IF NOT EXISTS smgr_agent_events (
  event_id VARCHAR(128) NOT NULL PRIMARY KEY,
  host_id VARCHAR(255) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  service VARCHAR(255) NULL,
  at DATETIME(3) NOT NULL,
  received_at DATETIME(3) NOT NULL,
  event_row BIGINT NULL,
  KEY smgr_agent_events_received (received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
