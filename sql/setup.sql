-- Seed schema of the Process Monitor Service (seeds/002), unchanged.
-- Load with:  mysql < sql/setup.sql
-- The smgr_* tables are not here: the controller migrations create them.
-- The test harness loads this file with the database name replaced, so keep
-- v_process_monitor spelled out wherever the database is named.

CREATE DATABASE IF NOT EXISTS v_process_monitor
  CHARACTER SET utf8mb4;
USE v_process_monitor;

CREATE TABLE IF NOT EXISTS PROCESE (
    process_id INT PRIMARY KEY,
    process_name VARCHAR(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS STATUS_PROCESS (
    process_id INT PRIMARY KEY,
    alarma TINYINT NOT NULL DEFAULT 0,
    sound TINYINT NOT NULL DEFAULT 0,
    notes VARCHAR(100),
    FOREIGN KEY (process_id) REFERENCES PROCESE(process_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
