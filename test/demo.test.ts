import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, waitFor } from '@smgr/testing';
import { ROOT } from '@smgr/testing/smgr';
import { isAlive } from '@smgr/testing/procs';

// The tests share the checkout's .demo/, so they run one after another (node:test's default within a file).
const DEMO_DIR = join(ROOT, '.demo');

test('the README demo repairs its sample service end to end and exits 0 (npm run demo -- --once)', async (t) => {
  const demo = ManagedProcess.start(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts'), '--once'], {
    name: 'demo',
    cwd: ROOT,
  });
  t.after(() => demo.stop());
  const status = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 120_000).unref())]);
  const out = demo.lines().join('\n');
  assert.ok(status, `demo did not finish within 120 s:\n${demo.tail(40)}`);
  assert.equal(status.code, 0, out);
  assert.match(out, /repaired in \d+ ms: alarma=0, notes="[^"]*restarted by process strategy/);
  assert.match(out, /demo-host\s+connected/, 'the CLI lists the connected agent');
  assert.equal(existsSync(DEMO_DIR), false, '.demo/ (with its admin token) is removed');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops every process the demo started, by PID, and removes .demo/ with its admin token`, async (t) => {
    const demo = ManagedProcess.start(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/demo.ts')], { name: `demo-${signal}`, cwd: ROOT });
    t.after(() => demo.stop('SIGKILL'));
    await demo.waitForLine((l) => l.startsWith('Watching STATUS_PROCESS row 1'), 120_000, 'demo ready');
    const out = demo.lines().join('\n');
    const pidOf = (re: RegExp, what: string) => {
      const m = re.exec(out);
      assert.ok(m, `the demo prints the ${what} pid:\n${out}`);
      return Number(m[1]);
    };
    const pids: Record<string, number> = {
      controller: pidOf(/^\s+controller\s+pid (\d+)/m, 'controller'),
      agent: pidOf(/^\s+agent\s+pid (\d+)/m, 'agent'),
      service: pidOf(/^\s+service\s+smgr-demo-svc pid (\d+)/m, 'sample service'),
    };
    const servers = /MariaDB pid (\d+), Redis pid (\d+)/.exec(out);
    if (servers) Object.assign(pids, { mariadb: Number(servers[1]), redis: Number(servers[2]) });
    for (const [name, pid] of Object.entries(pids)) assert.ok(isAlive(pid), `${name} (pid ${pid}) runs before the signal`);
    assert.ok(existsSync(join(DEMO_DIR, 'token')), 'the admin token is in .demo/ while the demo runs');

    process.kill(demo.pid!, signal);
    const status = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000).unref())]);
    assert.ok(status, `the demo did not exit within 60 s of ${signal}:\n${demo.tail(40)}`);
    assert.equal(status.code, 0, demo.tail(40));
    for (const [name, pid] of Object.entries(pids)) {
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, message: `${name} (pid ${pid}) gone after ${signal}` });
    }
    assert.equal(existsSync(DEMO_DIR), false, '.demo/ is removed');
  });
}
