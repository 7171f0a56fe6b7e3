import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirPrivateSync, openPrivateSync, writePrivateFileSync } from './private-files.js';

test('private files and directories are owner-only whatever the umask, and an existing wider file is narrowed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-private-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0o000);
  try {
    const mode = (p: string) => statSync(p).mode & 0o777;
    writePrivateFileSync(join(dir, 'token'), 'secret\n');
    assert.equal(mode(join(dir, 'token')), 0o600);
    assert.equal(readFileSync(join(dir, 'token'), 'utf8'), 'secret\n');
    assert.throws(() => writePrivateFileSync(join(dir, 'token'), 'other', 'wx'), /EEXIST/);

    writeFileSync(join(dir, 'journal'), 'old\n', { mode: 0o666 });
    assert.equal(mode(join(dir, 'journal')), 0o666);
    closeSync(openPrivateSync(join(dir, 'journal'), 'a'));
    assert.equal(mode(join(dir, 'journal')), 0o600);

    mkdirPrivateSync(join(dir, 'state', 'deep'));
    assert.equal(mode(join(dir, 'state', 'deep')), 0o700);
  } finally {
    process.umask(old);
  }
});
