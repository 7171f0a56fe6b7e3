import type { MariaDbInstance } from './harness/mariadb.js';
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './harness/test-database.js';
import type { AfterHookHost } from './harness/cleanup.js';

/** A fresh test database on `mysql`, dropped when `t` ends (pass or fail). */
export async function useTestDatabase(t: AfterHookHost, mysql: MariaDbInstance, opts?: TestDatabaseOptions): Promise<TestDatabase> {
  const db = await createTestDatabase(mysql, opts);
  t.after(() => db.drop());
  return db;
}
