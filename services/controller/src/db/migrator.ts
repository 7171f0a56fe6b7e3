import { Umzug, type UmzugStorage } from 'umzug';
import type { Logger } from '@smgr/shared';
import { UnavailableError } from '@smgr/shared';
import { migrations, type Migration } from '../migrations/index.js';
import type { DbPool } from './pool.js';

const LOCK_NAME = 'smgr_migrations';

/** Applied migrations live in smgr_schema_migrations, beside the seed tables. */
function mysqlStorage(pool: DbPool): UmzugStorage {
  const ensure = () =>
    pool.query(
      `CREATE TABLE IF NOT EXISTS smgr_schema_migrations (
         name VARCHAR(255) NOT NULL PRIMARY KEY,
         applied_at DATETIME(3) NOT NULL
       ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
  return {
    async logMigration({ name }) {
      await ensure();
      await pool.query('INSERT IGNORE INTO smgr_schema_migrations (name, applied_at) VALUES (?, UTC_TIMESTAMP(3))', [name]);
    },
    async unlogMigration({ name }) {
      await ensure();
      await pool.query('DELETE FROM smgr_schema_migrations WHERE name = ?', [name]);
    },
    async executed() {
      await ensure();
      const [rows] = await pool.query('SELECT name FROM smgr_schema_migrations ORDER BY name');
      return (rows as { name: string }[]).map((r) => r.name);
    },
  };
}

async function apply(pool: DbPool, m: Migration): Promise<void> {
  for (const sql of m.statements) await pool.query(sql);
  for (const ix of m.indexes ?? []) {
    const [rows] = await pool.query(
      'SELECT 1 FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ? LIMIT 1',
      [ix.table, ix.name],
    );
    if ((rows as unknown[]).length === 0) {
      await pool.query(`CREATE INDEX ${ix.name} ON ${ix.table} (${ix.columns})`);
    }
  }
  for (const col of m.columns ?? []) {
    const [rows] = await pool.query('SELECT 1 FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ? LIMIT 1', [
      col.table,
      col.name,
    ]);
    if ((rows as unknown[]).length === 0) await pool.query(`ALTER TABLE ${col.table} ADD COLUMN ${col.name} ${col.definition}`);
  }
}

/**
 * Brings the schema up to date. Two controllers starting together serialise on
 * a MySQL named lock, so a migration never runs twice at once.
 */
export async function migrate(pool: DbPool, log: Logger): Promise<string[]> {
  const conn = await pool.getConnection();
  try {
    const [lockRows] = await conn.query('SELECT GET_LOCK(?, 60) AS got', [LOCK_NAME]);
    if ((lockRows as { got: number }[])[0]?.got !== 1) {
      throw new UnavailableError('MIGRATION_LOCK', 'could not take the migration lock within 60 s');
    }
    try {
      const umzug = new Umzug({
        migrations: migrations.map((m) => ({ name: m.name, up: () => apply(pool, m) })),
        storage: mysqlStorage(pool),
        logger: undefined,
      });
      const done = await umzug.up();
      const names = done.map((d) => d.name);
      if (names.length > 0) log.info({ migrations: names }, 'schema migrated');
      return names;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
    }
  } finally {
    conn.release();
  }
}
