import { readFileSync } from 'node:fs';
import { embeddedSql } from './embedded-sql.js';
import type { Migration } from './migration.js';

/**
 * The statements of a migration's SQL file: each ends with `;` at the end of
 * a line; `--` comment lines are left out.
 */
export function splitStatements(sql: string): string[] {
  const code = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return code
    .split(/;[ \t]*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/**
 * Migration `name`, its statements read from `name.sql` beside this module
 * (or, in a build, from the text the build embedded). `extra` adds the
 * conditional changes plain SQL cannot say on MySQL (indexes, columns).
 */
export function sqlMigration(name: string, extra: Pick<Migration, 'indexes' | 'columns'> = {}): Migration {
  const sql = embeddedSql[name] ?? readFileSync(new URL(`./${name}.sql`, import.meta.url), 'utf8');
  return { name, statements: splitStatements(sql), ...extra };
}
