import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrations } from './index.js';

const ROOT = join(import.meta.dirname, '../../../..');

test('sql/grants.sql grants the controller account every table a migration creates', () => {
  const created = new Set(
    migrations.flatMap((m) => m.statements.flatMap((sql) => [...sql.matchAll(/CREATE TABLE IF NOT EXISTS (smgr_\w+)/g)].map((x) => x[1]!))),
  );
  const grants = readFileSync(join(ROOT, 'sql/grants.sql'), 'utf8');
  const granted = new Set([...grants.matchAll(/^GRANT [^;]*\bCREATE\b[^;]* ON v_process_monitor\.(smgr_\w+) TO/gm)].map((x) => x[1]!));
  const missing = [...created].filter((t) => !granted.has(t));
  assert.ok(created.size >= 10, 'the migrations were read');
  assert.deepEqual(missing, [], 'a new smgr_ table needs its GRANT line in sql/grants.sql');
});
