import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@smgr/shared';
import { isContainerMode, LEFTOVER_GRACE_MS, SHUTDOWN_SLACK_MS, shutdownDeadlineMs, stopBoundMs } from './container-init.js';

function config(t: { after(fn: () => void): void }, agent: string, processes: string) {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-cmode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'agent.ini');
  writeFileSync(file, `[agent]\nstate_dir = ${dir}\n${agent}\n[tls]\ninsecure = true\n${processes}`);
  return loadConfig({ file, env: {} });
}

test('container mode: auto means PID 1; true and false say so whatever the pid', () => {
  assert.equal(isContainerMode('auto', 1), true);
  assert.equal(isContainerMode('auto', 4242), false);
  assert.equal(isContainerMode(true, 4242), true);
  assert.equal(isContainerMode(false, 1), false);
});

test('container_mode and subreaper are read from the file and the environment', (t) => {
  const c = config(t, 'container_mode = true\nsubreaper = false', '');
  assert.equal(c.agent.containerMode, true);
  assert.equal(c.agent.subreaper, false);
  const d = config(t, '', '');
  assert.equal(d.agent.containerMode, 'auto');
  assert.equal(d.agent.subreaper, true);
  const dir = mkdtempSync(join(tmpdir(), 'smgr-cmode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.ini'), `[agent]\nstate_dir = ${dir}\n[tls]\ninsecure = true\n`);
  assert.equal(loadConfig({ file: join(dir, 'a.ini'), env: { SMGR_AGENT_CONTAINER_MODE: 'false' } }).agent.containerMode, false);
  assert.throws(() => config(t, 'container_mode = maybe', ''), /container_mode/);
});

test('the stop bound covers every service stop_timeout in container mode, and the leftovers as PID 1', (t) => {
  const c = config(t, 'container_mode = auto', '[process.a]\nstop_timeout = 10\n[process.b]\nstop_timeout = 2\n');
  const [a, b] = c.processes;
  assert.equal(shutdownDeadlineMs(a!), 10_000 + SHUTDOWN_SLACK_MS);
  assert.equal(stopBoundMs(c, 4242), 15_000, 'not a container: the default bound');
  const services = shutdownDeadlineMs(a!) + shutdownDeadlineMs(b!) + 2 * 2_000;
  assert.equal(stopBoundMs(c, 1), 15_000 + services + LEFTOVER_GRACE_MS + 2_000);
  const forced = config(t, 'container_mode = true', '[process.a]\nstop_timeout = 10\n');
  assert.equal(stopBoundMs(forced, 4242), 15_000 + shutdownDeadlineMs(forced.processes[0]!) + 2_000, 'no leftovers step unless PID 1');
});
