#!/usr/bin/env node
// Test entry point (`npm test` runs it after `turbo run build`).
//
// Node 20's `--test` does not expand globs, so the test files are found here
// and handed to ONE `node --test` child: a single TAP stream that ends with a
// single "# pass N / # fail N" summary, and its exit code is ours.
//
//   node scripts/run-tests.mjs                          every test
//   node scripts/run-tests.mjs test/harness-servers.test.ts     just that file
//   node scripts/run-tests.mjs services/agent test/alarm   files under a dir / whose path contains the text
//   node scripts/run-tests.mjs --test-name-pattern=breaker   arguments starting with -- go to node
//
// Found: **/*.test.ts under packages/*/src, services/*/src and test/,
// skipping node_modules and dist; test/fleet/ only with SMGR_FLEET=1
// (it needs network namespaces and root).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', '.git', 'coverage']);
const fleet = process.env.SMGR_FLEET === '1';

/** Recursively collects *.test.ts under `dir` (repo-relative, / separators). */
function collect(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const rel = toRel(path);
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name)) continue;
      if (!fleet && (rel === 'test/fleet' || rel.startsWith('test/fleet/'))) continue;
      collect(path, out);
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      out.push(rel);
    }
  }
  return out;
}

function toRel(path) {
  return relative(root, path).split(sep).join('/');
}

function subdirs(dir) {
  try {
    return readdirSync(join(root, dir), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(root, dir, e.name, 'src'));
  } catch {
    return [];
  }
}

function discover() {
  const files = [];
  for (const dir of [...subdirs('packages'), ...subdirs('services'), join(root, 'test')]) collect(dir, files);
  return [...new Set(files)].sort();
}

const nodeArgs = [];
const filters = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith('--')) nodeArgs.push(arg);
  else filters.push(arg);
}

let files;
if (filters.length === 0) {
  files = discover();
} else {
  const all = discover();
  const picked = new Set();
  for (const filter of filters) {
    const abs = resolve(process.cwd(), filter);
    const before = picked.size;
    if (existsSync(abs) && statSync(abs).isFile()) {
      // An explicit file runs even where discovery would skip it (test/fleet/).
      picked.add(toRel(abs));
    } else if (existsSync(abs) && statSync(abs).isDirectory()) {
      for (const f of collect(abs, [])) picked.add(f);
    } else {
      const needle = filter.split(sep).join('/');
      for (const f of all) if (f.includes(needle)) picked.add(f);
    }
    if (picked.size === before) {
      console.error(`run-tests: no test file matches "${filter}"`);
      process.exit(2);
    }
  }
  files = [...picked].sort();
}

if (files.length === 0) {
  console.log('run-tests: no test files found');
  process.exit(0);
}

const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...nodeArgs, ...files];
console.log(`run-tests: node ${args.join(' ')}`);

const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
// A terminal's Ctrl-C already reaches the child (same process group): wait for
// it to wind down. A SIGTERM/SIGHUP sent to us alone (CI cancelling the job)
// is passed on so the runner can stop its test files and their cleanups run.
process.on('SIGINT', () => undefined);
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('error', (err) => {
  console.error(`run-tests: cannot start node: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) process.exit(128 + (constants.signals[signal] ?? 0));
  process.exit(code ?? 1);
});
