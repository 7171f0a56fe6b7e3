import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import type { MariaDbInstance } from './mariadb.js';
import { uniqueDatabaseName } from './unique-name.js';

/** The seed schema operators load; tests load the same file. */
export const SETUP_SQL_PATH = fileURLToPath(new URL('../../../../sql/setup.sql', import.meta.url));

/** The database name written in sql/setup.sql, replaced by the test database's name. */
const SEED_DATABASE = 'v_process_monitor';

export interface TestDatabaseOptions {
  /** Load sql/setup.sql (PROCESE, STATUS_PROCESS, no rows). Default true; false gives an empty database. */
  seed?: boolean;
}

export interface TestDatabase {
  /** `smgr_t_<16 hex>`: use it where a deployment would say `v_process_monitor`. */
  readonly name: string;
  /** `mysql://user:pass@host:port/<name>` */
  readonly url: string;
  /** A pool on this database (10 connections), ended by drop(). */
  readonly pool: Pool;
  /**
   * Runs a statement and resolves with its rows (SELECT, SHOW); a statement
   * that returns no rows (INSERT, UPDATE, DDL) resolves with `[]`: use exec()
   * when you need affectedRows or insertId.
   */
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a statement that returns no rows (INSERT, UPDATE, DDL) and resolves with affectedRows/insertId. */
  exec(sql: string, params?: unknown[]): Promise<ResultSetHeader>;
  /** Ends the pool and drops the database. Idempotent. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named database on `mysql`, loaded by default with
 * sql/setup.sql (its statements run through mysql2, `v_process_monitor`
 * replaced by the new name). Call drop() in the test's cleanup.
 */
export async function createTestDatabase(mysqlServer: MariaDbInstance, opts: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  const login = { host: mysqlServer.host, port: mysqlServer.port, user: mysqlServer.user, password: mysqlServer.password };
  const admin = await mysql.createConnection({ ...login, multipleStatements: true });
  try {
    if (opts.seed ?? true) {
      const script = await readFile(SETUP_SQL_PATH, 'utf8');
      const renamed = script.replace(new RegExp(`\\b${SEED_DATABASE}\\b`, 'g'), name);
      if (renamed === script) throw new Error(`${SETUP_SQL_PATH} does not name ${SEED_DATABASE}`);
      await admin.query(renamed);
    } else {
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    }
  } catch (err) {
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    throw err;
  } finally {
    await admin.end().catch(() => undefined);
  }

  const pool = mysql.createPool({ ...login, database: name, connectionLimit: 10 });
  // An idle pooled connection dies with the server in chaos tests; mysql2 emits
  // that on the connection, and unhandled it would crash the test process.
  pool.on('connection', (conn) => {
    conn.on('error', () => undefined);
  });
  let dropped = false;
  return {
    name,
    url: `${mysqlServer.url}/${name}`,
    pool,
    async query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
      const [rows] = await pool.query(sql, params);
      return Array.isArray(rows) ? (rows as T[]) : [];
    },
    async exec(sql: string, params?: unknown[]): Promise<ResultSetHeader> {
      const [result] = await pool.query(sql, params);
      if (Array.isArray(result)) throw new Error(`exec() got rows; use query() for: ${sql}`);
      return result as ResultSetHeader;
    },
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      const conn = await mysql.createConnection(login);
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end().catch(() => undefined);
      }
    },
  };
}
