import type { PoolConnection } from 'mysql2/promise';
import type { DbPool } from './pool.js';

/** Runs `fn` in a transaction on one pooled connection: commit when it resolves, roll back when it throws. */
export async function withTransaction<T>(pool: DbPool, fn: (c: PoolConnection) => Promise<T>): Promise<T> {
  const c = await pool.getConnection();
  try {
    await c.beginTransaction();
    const out = await fn(c);
    await c.commit();
    return out;
  } catch (err) {
    await c.rollback().catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
