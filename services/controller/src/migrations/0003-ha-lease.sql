-- The HA lease (one row per lease name; the active controller renews it) and
-- (index.ts) an index that lets event/incident retention delete old rows by
-- time without scanning the tables.

CREATE TABLE IF NOT EXISTS smgr_leases (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  holder VARCHAR(255) NOT NULL,
  acquired_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
