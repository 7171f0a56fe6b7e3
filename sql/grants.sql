-- Least privileges for the smgr controller's MySQL account (default user: smgr).
--
-- Run as a MySQL/MariaDB administrator after the seed schema exists
-- (sql/setup.sql), replacing the password; narrow '%' to the controllers'
-- addresses where you can. REQUIRE SSL makes the server refuse this account
-- over plaintext: set [database] ssl_ca on the controllers (docs/security.md).
--
-- One account is enough: the controller applies its own migrations at start,
-- and the privileges they need (CREATE, ALTER, INDEX) are granted on smgr's
-- own tables only, never on the seed tables' data or other schemas. A site
-- that wants DDL out of the daemon's reach can run the first start of each
-- new version with a separate migration account holding these grants and
-- then revoke CREATE, ALTER and INDEX from 'smgr'.

CREATE USER IF NOT EXISTS 'smgr'@'%' IDENTIFIED BY 'change-me' REQUIRE SSL;

-- Seed tables: read processes and alarms, clear/raise alarms and write notes.
GRANT SELECT ON v_process_monitor.PROCESE TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE ON v_process_monitor.STATUS_PROCESS TO 'smgr'@'%';
-- The one index smgr adds to the seed schema (STATUS_PROCESS.alarma, migration 0001).
GRANT INDEX ON v_process_monitor.STATUS_PROCESS TO 'smgr'@'%';
-- Only with [controller] create_missing_rows = true (agents' services missing from PROCESE):
-- GRANT INSERT ON v_process_monitor.PROCESE TO 'smgr'@'%';

-- smgr's own tables, created and upgraded by the controller's migrations.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_schema_migrations TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_incidents TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_events TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_breakers TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_agents TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_placement TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_agent_events TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_leases TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_api_tokens TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_audit TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_rollouts TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_rollout_hosts TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_host_claims TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_operations TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_operation_hosts TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_rollout_failures TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_console_sessions TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_notify_alerts TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_notify_cursor TO 'smgr'@'%';
GRANT SELECT, INSERT, CREATE ON v_process_monitor.smgr_fleet_secrets TO 'smgr'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON v_process_monitor.smgr_rollout_commands TO 'smgr'@'%';
