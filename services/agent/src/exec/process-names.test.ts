import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProcessNames } from './process-names.js';

/** Runs a copy of /bin/sleep under `name`; returns its pid and a stop function. */
function sleeper(t: { after(fn: () => void): void }, name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-names-'));
  const path = join(dir, name);
  copyFileSync('/bin/sleep', path);
  const child = spawn(path, ['60'], { stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return child;
}

test('a process is found by its exact name, and a prefix or a longer name is not a match', (t) => {
  const name = `pn-${randomBytes(4).toString('hex')}`;
  const child = sleeper(t, name);
  const names = ProcessNames.capture();
  assert.deepEqual(names.pidsNamed(name), [child.pid]);
  assert.deepEqual(names.pidsNamed(name.slice(0, -1)), []);
  assert.deepEqual(names.pidsNamed(`${name}x`), []);
  assert.deepEqual(names.pidsNamed(''), []);
});

test('a name longer than the 15 bytes the kernel keeps is confirmed from the command line', (t) => {
  const name = `pn-long-${randomBytes(6).toString('hex')}`;
  assert.ok(Buffer.byteLength(name) > 15);
  const child = sleeper(t, name);
  const other = `${name.slice(0, 15)}-other`;
  const names = ProcessNames.capture();
  assert.deepEqual(names.pidsNamed(name), [child.pid]);
  assert.deepEqual(names.pidsNamed(other), [], 'same 15-byte prefix, different name');
});

test('the snapshot is what /proc held when it was taken', (t) => {
  const name = `pn-${randomBytes(4).toString('hex')}`;
  const before = ProcessNames.capture();
  sleeper(t, name);
  assert.deepEqual(before.pidsNamed(name), []);
});
