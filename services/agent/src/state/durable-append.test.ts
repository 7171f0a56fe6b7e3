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

test('replace swaps in the compacted text (private) and the line count follows the records read, appends and the replace', async (t) => {
  const dir = withDir(t);
  writeFileSync(join(dir, 'jobs.journal'), 'S j1\nD j1 AAAA\n');
  const f = DurableAppend.inStateDir(join(dir, 'state'), 'jobs.journal');
  assert.deepEqual(f.records(), [], 'a missing file has no records');
  const g = DurableAppend.inStateDir(dir, 'jobs.journal');
  assert.deepEqual(
    g.records().map((r) => [r.kind, r.id, r.data]),
    [
      ['S', 'j1', undefined],
      ['D', 'j1', 'AAAA'],
    ],
  );
  assert.equal(g.lines, 2);
  await g.append('S j2\nS j3\n');
  assert.equal(g.lines, 4);
  g.replace('D j1 AAAA\n', { fsync: true });
  assert.equal(g.lines, 1);
  assert.equal(readFileSync(g.path, 'utf8'), 'D j1 AAAA\n');
  assert.equal(statSync(g.path).mode & 0o777, 0o600);
  await g.append('S j4\n');
  assert.equal(readFileSync(g.path, 'utf8'), 'D j1 AAAA\nS j4\n', 'appends go on in the new file');
  g.close();
  f.close();
});
