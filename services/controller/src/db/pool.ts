import mysql from 'mysql2/promise';
import type { SmgrConfig } from '@smgr/shared';

export type DbPool = mysql.Pool;

/** A mysql2 pool for the `[database]` section. */
export function createDbPool(db: SmgrConfig['database']): DbPool {
  const pool = mysql.createPool({
    ...(db.socket ? { socketPath: db.socket } : { host: db.host, port: db.port }),
    user: db.user,
    password: db.password,
    database: db.database,
    connectionLimit: db.connectionLimit,
    // Times are written as UTC and compared in SQL; never trust the server's zone.
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    // A dead MySQL must surface as an error in seconds, not hang a poll.
    connectTimeout: 5_000,
    enableKeepAlive: true,
    charset: 'utf8mb4',
  });
  // An idle pooled connection dies with the server (outage, restart); mysql2
  // emits that on the connection, and unhandled it would kill the daemon. The
  // pool drops the dead connection and the next query reports the outage.
  pool.on('connection', (conn) => {
    conn.on('error', () => undefined);
  });
  return pool;
}
