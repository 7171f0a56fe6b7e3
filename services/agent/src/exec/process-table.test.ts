import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProcessesByName, invalidateProcessTable, noteStarted, PROCESS_TABLE_MAX_AGE_MS, processTable } from './process-table.js';

test('lookups within the max age share one pass over /proc; an older view is read again', () => {
  invalidateProcessTable();
  const t0 = Date.now();
  const a = processTable(t0);
  assert.equal(processTable(t0 + PROCESS_TABLE_MAX_AGE_MS), a, 'the same view');
  assert.notEqual(processTable(t0 + PROCESS_TABLE_MAX_AGE_MS + 1), a, 'read again');
  assert.ok(a.some((p) => p.pid === process.ppid) || a.length > 0);
  assert.ok(!a.some((p) => p.pid === process.pid), 'never the agent itself');
});

test('a process killed after the view was taken is not returned from it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-ptable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const name = `pt${process.pid % 100000}x`;
  copyFileSync('/bin/sleep', join(dir, name));
  const child = spawn(join(dir, name), ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    invalidateProcessTable();
    if ((await findProcessesByName(name)).length === 1) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const found = await findProcessesByName(name);
  assert.deepEqual(
    found.map((p) => p.pid),
    [child.pid],
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // Whatever the view's age, the dead process is filtered out.
  assert.deepEqual(await findProcessesByName(name), []);
});

test('a process the agent started joins the current view without a new pass over /proc', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-ptable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const name = `pb${process.pid % 100000}x`;
  copyFileSync('/bin/sleep', join(dir, name));
  invalidateProcessTable();
  // One moment for every lookup: the view never expires in this test.
  const t0 = Date.now();
  const view = processTable(t0);
  const child = spawn(join(dir, name), ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  noteStarted(child.pid!);
  const mine = () => processTable(t0).filter((p) => p.pid === child.pid);
  // Until it has exec'd it shows the parent's name and is looked at again next time.
  for (let i = 0; i < 500 && mine()[0]?.comm !== name; i++) await new Promise((r) => setTimeout(r, 2));
  assert.equal(mine()[0]?.comm, name);
  assert.equal(mine().length, 1, 'added once');
  assert.equal(processTable(t0), view, 'the same view, not a new pass');
});
