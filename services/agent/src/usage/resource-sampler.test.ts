import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ProcessConfig } from '@smgr/shared';
import { ProcessNames } from '../exec/process-names.js';
import { ResourceSampler } from './resource-sampler.js';
import { parseProcStat } from './proc-usage.js';
import { readCgroupUsage, unitCgroupDir } from './cgroup-usage.js';

function service(name: string, keys: Record<string, string> = {}): ProcessConfig {
  const cfg = loadConfig({
    overrides: ['tls.insecure=true', ...Object.entries({ restart_strategy: 'process', ...keys }).map(([k, v]) => `process.${name}.${k}=${v}`)],
  });
  return cfg.processes[0]!;
}

async function until(what: string, pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('parseProcStat reads a comm with spaces and parentheses, and refuses zombies', () => {
  const line = '42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 5 0 12345 1000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';
  assert.deepEqual(parseProcStat(42, line), { pid: 42, ppid: 1, cpuTicks: 10, threads: 5, startTicks: 12345, rssPages: 250 });
  assert.equal(parseProcStat(42, line.replace(') S ', ') Z ')), null);
});

test('a service is measured over its main process and its children; a new main process counts as a restart', async (t) => {
  const name = `smp-${process.pid}`.slice(0, 15);
  // A parent named `name` with one child (sleep) and a few open files of its own.
  const script = `process.title = ${JSON.stringify(name)}; const c = require('child_process').spawn('sleep', ['60'], { stdio: 'ignore' }); process.on('SIGTERM', () => { c.kill(); process.exit(0); }); setInterval(() => {}, 1000);`;
  const start = () => spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  let child: ChildProcess = start();
  t.after(() => child.kill());
  const s = service(name);
  const names = () => ProcessNames.capture();
  await until('the service and its child', () => {
    const [u] = new ResourceSampler().sample([s], names);
    return u!.running && u!.processes === 2;
  });
  const sampler = new ResourceSampler();
  const [first] = sampler.sample([s], names);
  assert.equal(first!.mainPid, child.pid);
  assert.equal(first!.source, 'proc');
  assert.equal(first!.processes, 2, 'the child sleep is counted');
  assert.ok(first!.rssBytes > 10 * 1024 * 1024, `rss ${first!.rssBytes}`);
  assert.ok(first!.threads >= 2 && first!.openFiles! >= 3);
  assert.equal(first!.cpuPercent, undefined, 'no CPU on the first sample');
  assert.equal(first!.restarts, 0);
  const [second] = sampler.sample([s], names, Date.now() + 1000);
  assert.ok(second!.cpuPercent !== undefined && second!.cpuPercent >= 0);

  child.kill('SIGTERM');
  await until('the service gone', () => !sampler.sample([s], names)[0]!.running);
  child = start();
  await until('the service back', () => sampler.sample([s], names)[0]!.running);
  const [back] = sampler.sample([s], names);
  assert.equal(back!.mainPid, child.pid);
  assert.equal(back!.restarts, 1);
});

test('a pidfile names the main process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-sampler-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => child.kill());
  writeFileSync(join(dir, 'pid'), `${child.pid}\n`);
  const [u] = new ResourceSampler().sample([service('anything', { pidfile: join(dir, 'pid') })], () => ProcessNames.capture());
  assert.equal(u!.mainPid, child.pid);
  assert.equal(u!.processes, 1);
});

test('a systemd unit is read from its cgroup: memory.current, cpu.stat, pids.current, cgroup.procs', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'smgr-cgroup-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'system.slice', 'web.service');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.procs'), `${process.pid}\n`);
  writeFileSync(join(dir, 'memory.current'), '123456789\n');
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n');
  writeFileSync(join(dir, 'pids.current'), '7\n');
  assert.equal(unitCgroupDir('web', root), dir);
  assert.equal(unitCgroupDir('../x', root), null);
  assert.deepEqual(readCgroupUsage(dir), { pids: [process.pid], memoryBytes: 123456789, cpuUsec: 5000000, tasks: 7 });
  const sampler = new ResourceSampler({ cgroupRoot: root });
  const s = service('web', { restart_strategy: 'service', service_manager: 'systemd' });
  const [u] = sampler.sample([s], () => ProcessNames.capture(), 1_000);
  assert.equal(u!.source, 'cgroup');
  assert.equal(u!.rssBytes, 123456789);
  assert.equal(u!.threads, 7);
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 5500000\n');
  const [next] = sampler.sample([s], () => ProcessNames.capture(), 2_000);
  assert.equal(next!.cpuPercent, 50, '0.5 s of CPU over 1 s of wall time');
});
