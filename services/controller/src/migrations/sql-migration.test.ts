import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { migrations } from './index.js';
import { splitStatements } from './sql-migration.js';

const HERE = import.meta.dirname;
const sqlFiles = () => readdirSync(HERE).filter((f) => f.endsWith('.sql'));

test('a migration file splits into its statements at each ; ending a line, without its -- comments', () => {
  const sql = "-- about t\n\nCREATE TABLE t (\n  a INT NOT NULL DEFAULT ';'\n);\n\n-- and u\nCREATE TABLE u (b INT) ;\n";
  assert.deepEqual(splitStatements(sql), ["CREATE TABLE t (\n  a INT NOT NULL DEFAULT ';'\n)", 'CREATE TABLE u (b INT)']);
});

test('every .sql file in migrations/ is a registered migration, with statements', () => {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const file of sqlFiles()) {
    const m = byName.get(file.replace(/\.sql$/, ''));
    assert.ok(m, `${file} is not in migrations/index.ts`);
    assert.ok(m.statements.length > 0, `${file} has no statements`);
  }
});

test('the build embeds the text of every migration file, so a build runs without them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-embedded-sql-'));
  try {
    const file = join(dir, 'embedded-sql.mjs');
    execFileSync(process.execPath, [join(HERE, '../../scripts/embed-migration-sql.mjs'), HERE, file]);
    const { embeddedSql } = (await import(pathToFileURL(file).href)) as { embeddedSql: Record<string, string> };
    const expected = Object.fromEntries(sqlFiles().map((f) => [f.replace(/\.sql$/, ''), readFileSync(join(HERE, f), 'utf8')]));
    assert.ok(Object.keys(expected).length >= 9, 'the migration files were read');
    assert.deepEqual(embeddedSql, expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
