#!/usr/bin/env node
// Run by `npm run build` after tsc: writes the text of every migration file
// (src/migrations/NNNN-name.sql) into the compiled dist/migrations/embedded-sql.js,
// so the compiled controller and the bundle scripts/package.mjs makes from it
// carry their schema and read no .sql file at run time.
//
//   node scripts/embed-migration-sql.mjs [SRC_DIR OUT_FILE]
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The module text: `embeddedSql`, each migration file's text by its name. */
export function embeddedSqlModule(srcDir) {
  const sql = {};
  for (const file of readdirSync(srcDir).sort()) {
    if (/^\d{4}-[a-z0-9-]+\.sql$/.test(file)) sql[file.slice(0, -'.sql'.length)] = readFileSync(join(srcDir, file), 'utf8');
  }
  if (Object.keys(sql).length === 0) throw new Error(`no NNNN-name.sql migration files in ${srcDir}`);
  return `// Written by services/controller/scripts/embed-migration-sql.mjs from src/migrations/*.sql.\nexport const embeddedSql = ${JSON.stringify(sql, null, 2)};\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [srcDir = join(pkg, 'src/migrations'), outFile = join(pkg, 'dist/migrations/embedded-sql.js')] = process.argv.slice(2);
  writeFileSync(outFile, embeddedSqlModule(srcDir));
  // tsc's source map describes the empty module this file replaced.
  rmSync(`${outFile}.map`, { force: true });
}
