import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLogger } from '@smgr/shared';
import { childPids, OrphanReaper, zombieChildren } from './orphan-reaper.js';
import { isSpawnedChild } from './spawned-children.js';

const lines: Record<string, unknown>[] = [];
const log = await createLogger({
  name: 't',
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  }),
  maxLogSizeBytes: 1 << 20,
  logFilesToKeep: 1,
});

const stat = (pid: number): { state: string; ppid: number } | null => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return null;
  }
};
const until = async (what: string, fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

// This test process becomes a child subreaper, as the agent does on a host.
const reaper = new OrphanReaper({ log, subreaper: true });
const role = reaper.start();

test('as a child subreaper it adopts the daemon a start script leaves behind and reaps it when it dies', async (t) => {
  assert.equal(role, 'subreaper');
  const dir = mkdtempSync(join(tmpdir(), 'smgr-reaper-'));
  const name = `or-${randomBytes(4).toString('hex')}`;
  copyFileSync('/bin/sleep', join(dir, name));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A daemonizing start script: backgrounds the service, prints its pid, exits.
  const script = spawn('/bin/sh', ['-c', `"$0" 60 >/dev/null 2>&1 & echo $!`, join(dir, name)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => script.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // reaped
    }
  });
  const exit = await new Promise<number | null>((resolve) => script.once('exit', resolve));
  assert.equal(exit, 0, "libuv still gets the start script's own exit status");
  await until('the daemon is re-parented to this process', () => stat(pid)?.ppid === process.pid);
  assert.equal(isSpawnedChild(pid), false, 'the daemon is not a child_process child');

  const before = reaper.reaped;
  process.kill(pid, 'SIGKILL');
  await until('the dead daemon is reaped (gone from /proc, not a zombie)', () => stat(pid) === null);
  assert.equal(reaper.reaped, before + 1);
  const line = lines.find((l) => l.msg === 'orphan reaped' && l.pid === pid);
  assert.equal(line?.signal, 'SIGKILL');
  assert.equal(line?.comm, name);
});

test("a zombie that libuv waits for is left to libuv, which still reports the child's exit code", async () => {
  const child = spawn('/bin/sh', ['-c', 'exit 7'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const pid = child.pid!;
  // Block the event loop, so libuv cannot reap the child, until it is a zombie; then run a pass.
  const end = Date.now() + 10_000;
  while (stat(pid)?.state !== 'Z' && Date.now() < end) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  assert.equal(stat(pid)?.state, 'Z', 'the child is a zombie before libuv ran');
  assert.ok(
    zombieChildren()?.some((z) => z.pid === pid),
    'and listed as a zombie child',
  );
  assert.equal(isSpawnedChild(pid), true);
  const reaped = reaper.reapNow();
  assert.deepEqual(
    reaped.filter((r) => r.pid === pid),
    [],
    'not reaped by the reaper',
  );
  assert.equal(await exited, 7);
  assert.equal(isSpawnedChild(pid), false, 'forgotten after its exit event');
});

test('many children at once all report their own exit codes while the reaper runs on every SIGCHLD', async () => {
  const codes = Array.from({ length: 30 }, (_, i) => i + 1);
  const results = await Promise.all(
    codes.map((code) => new Promise<number | null>((resolve) => spawn('/bin/sh', ['-c', `exit ${code}`], { stdio: 'ignore' }).once('exit', resolve))),
  );
  assert.deepEqual(results, codes);
});

test('children are listed only when /proc is mounted for this PID namespace', () => {
  assert.ok(Array.isArray(childPids('/proc', process.pid)));
  // /proc/self of another pid namespace's /proc names another pid: nothing can be said.
  assert.equal(childPids('/proc', process.pid + 1_000_000), null);
  assert.equal(existsSync('/proc/self/task'), true);
});

test('without the addon it reaps nothing and says why', () => {
  const r = new OrphanReaper({
    log,
    subreaper: true,
    isLibuvChild: () => false,
    binding: () => {
      throw new Error('the native reaper addon is missing (looked for X)');
    },
  });
  assert.equal(r.start(), 'off');
  assert.deepEqual(r.reapNow(), []);
  assert.ok(
    lines.some((l) => l.msg === 'cannot reap orphaned processes: their zombies will stay until the agent exits' && /addon is missing/.test(String(l.err))),
  );
});

test.after(() => reaper.stop());
