import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useIniDir } from '@smgr/testing';
import { expandArgv } from './expand-argv.js';
import { parseCommand } from './parse-command.js';

const where = { file: 'test', key: 'process.default.health_check_command' };

const HOSTILE_NAMES = [
  'x; touch CANARY',
  '$(touch CANARY)',
  '`touch CANARY`',
  "'; touch CANARY; '",
  '"; touch CANARY; "',
  'a\ntouch CANARY',
  '-rf',
  '--help',
  'two words',
  '$& %s %%',
];

describe('expandArgv', () => {
  const tmp = useIniDir('smgr-expand-');

  it('replaces every %s inside an element and turns %% into %', () => {
    const argv = parseCommand('svc %s --pid=/run/%s.pid 100%% %d', where);
    assert.deepEqual(expandArgv(argv, { name: 'nginx' }), ['svc', 'nginx', '--pid=/run/nginx.pid', '100%', '%d']);
  });

  it('does not modify the template it was given', () => {
    const argv = Object.freeze(['pgrep', '%s']);
    expandArgv(argv, { name: 'x' });
    assert.deepEqual(argv, ['pgrep', '%s']);
  });

  for (const name of HOSTILE_NAMES) {
    it(`keeps the hostile name ${JSON.stringify(name)} as exactly one argument`, () => {
      const argv = expandArgv(parseCommand('pgrep -x -- %s', where), { name });
      assert.deepEqual(argv, ['pgrep', '-x', '--', name]);
    });
  }

  it('never runs anything hidden in a name when the argv is executed', () => {
    const template = parseCommand("printf '%%s\\n' %s", where);
    for (const name of HOSTILE_NAMES) {
      const [file, ...args] = expandArgv(template, { name });
      assert.ok(file !== undefined);
      const out = execFileSync(file, args, { cwd: tmp.path, encoding: 'utf8' });
      assert.equal(out, `${name}\n`);
    }
    assert.equal(existsSync(join(tmp.path, 'CANARY')), false);
  });
});
