import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SMGR_VERSION } from './version.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const packageVersion = (dir: string): string => JSON.parse(readFileSync(`${ROOT}${dir}/package.json`, 'utf8')).version;

test('SMGR_VERSION is the version of packages/shared/package.json', () => {
  assert.match(SMGR_VERSION, /^\d+\.\d+\.\d+/);
  assert.equal(SMGR_VERSION, packageVersion('packages/shared'));
});

test('every binary prints that version for --version, from the compiled code', async () => {
  for (const bin of ['packages/cli/bin/smgr.js', 'services/agent/bin/smgr-agent.js', 'services/controller/bin/smgr-controller.js']) {
    const { stdout } = await promisify(execFile)(process.execPath, [`${ROOT}${bin}`, '--version'], { cwd: '/', timeout: 30_000 });
    assert.equal(stdout.trim(), SMGR_VERSION, `${bin} --version`);
  }
});
