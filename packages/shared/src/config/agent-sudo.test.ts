import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './load-config.js';

function load(t: { after(fn: () => void): void }, text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-sudo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.ini');
  writeFileSync(file, `${text}[tls]\ninsecure = true\n`);
  return () => loadConfig({ file, env: {} });
}

test('agent.sudo defaults to false and accepts yes/no', (t) => {
  assert.equal(load(t, '[agent]\nhost_id = a\n')().agent.sudo, false);
  assert.equal(load(t, '[agent]\nsudo = yes\n')().agent.sudo, true);
});

test('a bad agent.sudo value names the file, the key, the value and the rule', (t) => {
  const run = load(t, '[agent]\nsudo = maybe\n');
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(
      err.details.map((d) => [d.key, d.value, d.rule]),
      [['agent.sudo', 'maybe', 'must be true or false']],
    );
    return true;
  });
});
