import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManagedProcess } from './harness/index.js';
import { ROOT } from './support/smgr.js';

test('the README demo repairs its sample service end to end and exits 0 (npm run demo -- --once)', async (t) => {
  const demo = ManagedProcess.start(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts'), '--once'], {
    name: 'demo',
    cwd: ROOT,
  });
  t.after(() => demo.stop());
  const status = await Promise.race([
    demo.exited,
    new Promise<null>((r) => setTimeout(() => r(null), 120_000).unref()),
  ]);
  const out = demo.lines().join('\n');
  assert.ok(status, `demo did not finish within 120 s:\n${demo.tail(40)}`);
  assert.equal(status.code, 0, out);
  assert.match(out, /repaired in \d+ ms: alarma=0, notes="[^"]*restarted by process strategy/);
  assert.match(out, /demo-host\s+connected/, 'the CLI lists the connected agent');
});
