import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableAppend } from './durable-append.js';

const withDir = (t: { after(fn: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-append-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('appends are in the file at once; those of one turn share one durable promise, the next turn gets another', async (t) => {
  const path = join(withDir(t), 'log');
  const f = new DurableAppend(path);
  const a = f.append('a\n');
  const b = f.append('b\n');
  assert.equal(a, b, 'one fsync for the turn');
  assert.equal(readFileSync(path, 'utf8'), 'a\nb\n', 'written before the fsync');
  await a;
  const c = f.append('c\n');
  assert.notEqual(c, a);
  await c;
  assert.equal(readFileSync(path, 'utf8'), 'a\nb\nc\n');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  f.close();
});

test('after close (the file replaced by a compaction) the next append goes to the new file', async (t) => {
  const dir = withDir(t);
  const path = join(dir, 'log');
  const f = new DurableAppend(path);
  await f.append('old\n');
  f.close();
  writeFileSync(join(dir, 'tmp'), 'compacted\n');
  renameSync(join(dir, 'tmp'), path);
  await f.append('new\n');
  assert.equal(readFileSync(path, 'utf8'), 'compacted\nnew\n');
  f.close();
});
