/**
 * Tests of the test harness's processes: waitFor, ManagedProcess and
 * Cleanup. The servers: harness-servers.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Cleanup, ManagedProcess, useCleanup, waitFor } from '@smgr/testing';
import { isAlive } from '@smgr/testing/procs';

describe('waitFor', () => {
  test('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { timeoutMs: 2_000, intervalMs: 5, message: 'three calls' });
    assert.deepEqual(value, { calls: 3 });
  });

  test('treats throws as not yet and quotes the last one when it times out', async () => {
    let calls = 0;
    await assert.rejects(
      waitFor(
        () => {
          calls += 1;
          throw new Error(`attempt ${calls} failed`);
        },
        { timeoutMs: 200, intervalMs: 20, message: 'the impossible', context: () => 'extra context' },
      ),
      (err: Error) => {
        assert.match(err.message, /^timed out after 200ms waiting for: the impossible/);
        assert.match(err.message, new RegExp(`last error: Error: attempt ${calls} failed`));
        assert.match(err.message, /extra context/);
        return true;
      },
    );
  });

  test('does not hang on an attempt that never settles', async () => {
    const t0 = Date.now();
    await assert.rejects(
      waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 150, message: 'a hung call' }),
      /timed out after 150ms waiting for: a hung call/,
    );
    assert.ok(Date.now() - t0 < 2_000);
  });
});

describe('ManagedProcess', () => {
  const node = process.execPath;

  test('keeps stdout and stderr as lines, parses JSON lines, and writes a log file', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      [
        '-e',
        `console.log('plain line'); console.error('to stderr');
         console.log(JSON.stringify({ level: 30, msg: 'ready', port: 1234 }));
         process.stdout.write('no newline at end')`,
      ],
      { name: 'printer', env: { SMGR_TEST_MARKER: 'x' } },
    );
    c.add(() => p.stop(), 'printer');
    const status = await p.exited;
    assert.deepEqual(status, { code: 0, signal: null });
    assert.deepEqual([...p.lines()].sort(), ['no newline at end', 'plain line', 'to stderr', '{"level":30,"msg":"ready","port":1234}'].sort());
    assert.deepEqual(p.jsonLines(), [{ level: 30, msg: 'ready', port: 1234 }]);
    assert.equal(p.lineCount(), 4);
    const log = readFileSync(p.logPath, 'utf8');
    assert.match(log, /plain line/);
    assert.match(log, /exit: code=0/);
    const found = await p.waitForLine((_, j) => j?.msg === 'ready', 100, 'an existing line');
    assert.equal(found.json?.port, 1234);
  });

  test('waitForLine waits for lines still to come, from a given index on', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(node, ['-e', `let n = 0; const i = setInterval(() => { console.log('tick ' + ++n); if (n === 5) clearInterval(i); }, 30)`], {
      name: 'ticker',
    });
    c.add(() => p.stop(), 'ticker');
    const first = await p.waitForLine((l) => l.startsWith('tick'), 5_000, 'any tick');
    assert.equal(first.line, 'tick 1');
    const later = await p.waitForLine((l) => l.startsWith('tick'), 5_000, 'a tick after the first', first.index + 1);
    assert.equal(later.line, 'tick 2');
    await p.waitForLine((l) => l === 'tick 5', 5_000, 'the last tick');
  });

  test('waitForLine fails with the output tail on timeout and when the process exits first', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(node, ['-e', `for (let i = 0; i < 60; i++) console.log('line ' + i); setTimeout(() => process.exit(4), 300)`], {
      name: 'quitter',
    });
    c.add(() => p.stop(), 'quitter');
    await p.waitForLine((l) => l === 'line 59', 5_000, 'all lines');
    await assert.rejects(
      p.waitForLine((l) => l === 'never', 100, 'a line that never comes'),
      (err: Error) => {
        assert.match(err.message, /quitter: timed out after 100ms waiting for: a line that never comes/);
        assert.match(err.message, /last 40 lines of quitter/);
        assert.match(err.message, /line 59/);
        assert.doesNotMatch(err.message, /line 19\n/);
        return true;
      },
    );
    await assert.rejects(
      p.waitForLine((l) => l === 'never', 10_000, 'a line before exit'),
      /exited before printing: a line before exit[\s\S]*exited code=4/,
    );
  });

  test('stop sends SIGTERM, then SIGKILL to a process that ignores it, and removes its log dir', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      ['-e', `process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)`],
      { name: 'stubborn' },
    );
    c.add(() => p.stop('SIGKILL'), 'stubborn');
    await p.waitForLine((l) => l === 'ready', 5_000, 'ready');
    const status = await p.stop('SIGTERM', 300);
    assert.deepEqual(status, { code: null, signal: 'SIGKILL' });
    assert.ok(p.lines().includes('ignoring SIGTERM'));
    assert.equal(p.running, false);
    assert.equal(existsSync(p.logPath), false);
  });

  test('stop signals only its own PID and returns even while a grandchild holds its stdout', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start(
      node,
      [
        '-e',
        `const { spawn } = require('node:child_process');
         const g = spawn('sleep', ['60'], { stdio: 'inherit' });
         console.log(JSON.stringify({ grandchild: g.pid }));
         setInterval(() => {}, 1000)`,
      ],
      { name: 'parent' },
    );
    const line = await p.waitForLine((_, j) => typeof j?.grandchild === 'number', 5_000, 'the grandchild pid');
    const grandchild = line.json?.grandchild as number;
    c.add(() => {
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    }, 'grandchild');
    c.add(() => p.stop(), 'parent');
    const status = await p.stop('SIGTERM', 5_000);
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(isAlive(grandchild), true, 'the grandchild was not signalled');
  });

  test('kill9 kills at once and reports the signal', async (t) => {
    const c = useCleanup(t);
    const p = ManagedProcess.start('sleep', ['60'], { name: 'sleeper' });
    c.add(() => p.stop(), 'sleeper');
    assert.ok(p.pid !== undefined && isAlive(p.pid));
    assert.deepEqual(await p.kill9(), { code: null, signal: 'SIGKILL' });
  });

  test('a command that does not exist surfaces through exited and waitForLine', async () => {
    const p = ManagedProcess.start('/nonexistent/smgr-binary', [], { name: 'ghost' });
    const status = await p.exited;
    assert.equal(status.code, null);
    assert.match(status.error?.message ?? '', /ENOENT/);
    await assert.rejects(
      p.waitForLine(() => true, 1_000, 'anything'),
      /ghost: exited before printing/,
    );
    await p.stop();
  });
});

describe('Cleanup', () => {
  test('runs cleanups newest first, runs all of them when some fail, then reports every failure', async () => {
    const ran: string[] = [];
    const cleanup = new Cleanup();
    cleanup.add(() => void ran.push('first'), 'first');
    cleanup.add(() => {
      ran.push('second');
      throw new Error('boom 2');
    }, 'second');
    cleanup.add(async () => {
      ran.push('third');
      throw new Error('boom 3');
    }, 'third');
    await assert.rejects(cleanup.run(), (err: AggregateError) => {
      assert.ok(err instanceof AggregateError);
      assert.equal(err.errors.length, 2);
      assert.match(err.message, /cleanup "third" failed: boom 3/);
      assert.match(err.message, /cleanup "second" failed: boom 2/);
      return true;
    });
    assert.deepEqual(ran, ['third', 'second', 'first']);
    assert.equal(cleanup.size, 0);
    await cleanup.run(); // nothing left to run
  });
});
