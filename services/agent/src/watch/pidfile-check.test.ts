import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidfileCheck } from './pidfile-check.js';

test('the pidfile check passes while the named process lives and fails, saying why, when it is gone, missing or garbage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-pidfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'svc.pid');
  assert.match(pidfileCheck(file).error, /^cannot read pidfile .*svc\.pid \(ENOENT\)$/);

  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  writeFileSync(file, `${child.pid}\n`);
  const up = pidfileCheck(file);
  assert.equal(up.ok, true, up.error);
  assert.equal(up.outputTail, `pid ${child.pid} from ${file} is alive`);

  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const down = pidfileCheck(file);
  assert.equal(down.ok, false);
  assert.equal(down.error, `no process alive with pid ${child.pid} from pidfile ${file}`);

  for (const junk of ['', 'abc', '1', '-5', '12 13', '99999999999999999999']) {
    writeFileSync(file, junk);
    assert.match(pidfileCheck(file).error, /holds no pid$/, JSON.stringify(junk));
  }
});
