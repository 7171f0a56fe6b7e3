-- Notifications (notify/):
-- - smgr_notify_alerts: one row per condition (alert_key), firing or
--   resolved, and whether its firing and its resolve were handed to the
--   delivery queue; the dispatcher groups the rows that are due.
-- - smgr_notify_cursor: how far each source (the smgr_events tail) has read,
--   so a restarted or new active controller neither repeats nor skips.

CREATE TABLE IF NOT EXISTS smgr_notify_alerts (
  alert_key VARCHAR(255) NOT NULL PRIMARY KEY,
  event VARCHAR(32) NOT NULL,
  severity VARCHAR(16) NOT NULL,
  state VARCHAR(16) NOT NULL,
  resolvable TINYINT NOT NULL DEFAULT 1,
  process_id INT NULL,
  host_id VARCHAR(255) NULL,
  service VARCHAR(255) NULL,
  message VARCHAR(1024) NOT NULL,
  fired_at DATETIME(3) NOT NULL,
  resolved_at DATETIME(3) NULL,
  notified_firing TINYINT NOT NULL DEFAULT 0,
  notified_resolved TINYINT NOT NULL DEFAULT 0,
  KEY smgr_notify_alerts_due (notified_firing, notified_resolved),
  KEY smgr_notify_alerts_process (process_id),
  KEY smgr_notify_alerts_host (host_id(64), service(64))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS smgr_notify_cursor (
  source VARCHAR(32) NOT NULL PRIMARY KEY,
  last_id BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
