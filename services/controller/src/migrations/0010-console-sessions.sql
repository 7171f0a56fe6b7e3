-- Sessions of the web console (/ui): a browser signs in with an API token
-- and gets a session cookie instead of keeping the token.
--
-- - smgr_console_sessions: one row per signed-in browser, keyed by the
--   SHA-256 of the cookie's secret (the secret itself is kept nowhere). The
--   session acts as its token (`token_name`): revoking the token ends its
--   sessions at once, and its role is read from the token on every request.
--   Rows are deleted at sign-out and once expired.

CREATE TABLE IF NOT EXISTS smgr_console_sessions (
  id_hash CHAR(64) NOT NULL PRIMARY KEY,
  token_name VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  remote_addr VARCHAR(64) NULL,
  KEY smgr_console_sessions_expires (expires_at),
  KEY smgr_console_sessions_token (token_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
