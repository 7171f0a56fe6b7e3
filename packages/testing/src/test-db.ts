import type { MariaDbInstance } from './harness/mariadb.js';
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './harness/test-database.js';
import type { AfterHookHost } from './harness/cleanup.js';
import { databaseSettings } from './config.js';

/** A fresh test database on `mysql`, dropped when `t` ends (pass or fail). */
export async function useTestDatabase(t: AfterHookHost, mysql: MariaDbInstance, opts?: TestDatabaseOptions): Promise<TestDatabase> {
  const db = await createTestDatabase(mysql, opts);
  t.after(() => db.drop());
  return db;
}

/**
 * A fresh test database on `mysql` and a pool on it opened by `open` (a
 * daemon's own pool factory, given databaseSettings), both gone when `t`
 * ends: the pool is ended before the database is dropped.
 */
export async function useTestPool<P extends { end(): Promise<unknown> }>(
  t: AfterHookHost,
  mysql: MariaDbInstance,
  open: (settings: ReturnType<typeof databaseSettings>) => P,
  opts?: TestDatabaseOptions,
): Promise<{ db: TestDatabase; pool: P }> {
  const db = await createTestDatabase(mysql, opts);
  let pool: P;
  try {
    pool = open(databaseSettings(mysql, db.name));
  } catch (err) {
    await db.drop();
    throw err;
  }
  t.after(async () => {
    try {
      await pool.end();
    } finally {
      await db.drop();
    }
  });
  return { db, pool };
}
