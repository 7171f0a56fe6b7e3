import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify, stripVTControlCharacters } from 'node:util';
import { Cleanup, ManagedProcess, waitFor } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { CLI_MAIN } from '@smgr/testing/cli';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * What the CLI does on a terminal, driven through a real pseudo-terminal:
 * util-linux `script` gives the CLI a pty whose input is our pipe, so the CLI
 * sees a TTY exactly as at a keyboard. Seed 002's test menu (`smgr menu`) and
 * the live rollout display.
 */
const service = uniqueServiceName('term');

const { fleet } = useFleet({ hostIds: ['m1', 'm2'], service }, async (fleet) => {
  await fleet.db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma')");
  await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL), (2, 0, 0, NULL), (3, 0, 0, NULL)');
});

const alarms = async () =>
  (await fleet.db.query<{ process_id: number; alarma: number }>('SELECT process_id, alarma FROM STATUS_PROCESS ORDER BY process_id')).map((r) => r.alarma);

describe('smgr menu', () => {
  test('on a terminal it displays all services, sets one in alarm, sets all in alarm, resets all, and exits', async (t) => {
    const cleanup = new Cleanup();
    t.after(() => cleanup.run());
    const menu = ManagedProcess.start('script', ['-qfec', `${process.execPath} ${CLI_MAIN} menu`, '/dev/null'], {
      name: 'smgr-menu',
      stdin: 'pipe',
      env: { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens.operator, TERM: 'dumb', HOME: fleet.dir },
    });
    cleanup.add(() => menu.stop(), 'menu');
    let menus = 0;
    /** Waits for the menu to be shown once more, then types `keys`. */
    const choose = async (...keys: string[]) => {
      menus += 1;
      const n = menus;
      await waitFor(() => menu.lines().filter((l) => l.includes('5) Exit')).length >= n, {
        timeoutMs: 15_000,
        message: `menu shown ${n} time(s)`,
        context: () => menu.tail(),
      });
      for (const k of keys) menu.stdin!.write(`${k}\r`);
    };

    await choose('1');
    await waitFor(() => menu.lines().some((l) => /^2 +beta +ok/.test(l.trim())), {
      timeoutMs: 10_000,
      message: 'process table shown',
      context: () => menu.tail(),
    });
    assert.ok(menu.lines().some((l) => /^ID +NAME +ALARM/.test(l.trim())));

    await choose('2', 'beta');
    await waitFor(async () => (await alarms()).join() === '0,1,0', { timeoutMs: 10_000, message: 'beta in alarm', context: () => menu.tail() });
    await choose('3');
    await waitFor(async () => (await alarms()).join() === '1,1,1', { timeoutMs: 10_000, message: 'all in alarm', context: () => menu.tail() });
    await choose('2', 'nosuch');
    await waitFor(() => menu.lines().some((l) => l.includes('error: no process named "nosuch"')), {
      timeoutMs: 10_000,
      message: 'error shown',
      context: () => menu.tail(),
    });
    await choose('4');
    await waitFor(async () => (await alarms()).join() === '0,0,0', { timeoutMs: 10_000, message: 'alarms reset', context: () => menu.tail() });
    await choose('5');
    const exit = await menu.exited;
    assert.equal(exit.code, 0, menu.tail());
    assert.ok(menu.lines().some((l) => l.includes('bye')));

    const audit = await fleet.db.query<{ action: string; target: string; token_name: string }>(
      "SELECT action, target, token_name FROM smgr_audit WHERE action LIKE 'alarm.%' ORDER BY id",
    );
    assert.deepEqual(
      audit.map((a) => `${a.token_name} ${a.action} ${a.target}`),
      ['t-operator alarm.raise process:beta', 't-operator alarm.raise process:*', 't-operator alarm.raise process:nosuch', 't-operator alarm.clear process:*'],
    );
  });

  test('without a terminal it refuses with exit 2 and says what to use in scripts', async () => {
    const run = await promisify(execFile)(process.execPath, [CLI_MAIN, 'menu'], {
      env: { PATH: process.env.PATH ?? '', SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens.operator },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /smgr menu needs a terminal/);
    assert.match(run.stderr, /smgr alarm raise/);
  });
});

describe('smgr rollout on a terminal', () => {
  test('rollout start redraws the progress in place until the rollout succeeds', async (t) => {
    const cleanup = new Cleanup();
    t.after(() => cleanup.run());
    const cmd = `${process.execPath} ${CLI_MAIN} rollout start ${service} 2.0 --canary 1 --auto-promote --min-healthy 0.2 --probe-interval 0.1`;
    const run = ManagedProcess.start('script', ['-qfec', cmd, '/dev/null'], {
      name: 'smgr-rollout',
      stdin: 'pipe',
      env: { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens.operator, TERM: 'xterm', HOME: fleet.dir, COLUMNS: '120' },
    });
    cleanup.add(() => run.stop(), 'smgr rollout');
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.tail());
    const raw = run.lines().join('\n');
    // Each redraw moves the cursor back to the first line of the previous drawing and clears below.
    const redraws = raw.match(/\x1b\[\d+F\x1b\[J/g) ?? [];
    assert.ok(redraws.length >= 1, `redrawn in place (${redraws.length} times):\n${run.tail()}`);
    const text = stripVTControlCharacters(raw);
    assert.match(text, /rollout \d+: \S+ -> 2\.0 +SUCCEEDED +\(2\/2 healthy, 0 failed\)/);
    assert.match(text, /^m1 +1 \(canary\) +healthy +1\.0 +2\.0/m);
    assert.match(text, /^m2 +2 +healthy +1\.0 +2\.0/m, 'batches are counted from 1');
    assert.match(raw, /\x1b\[32mSUCCEEDED\x1b\[39m/, 'a succeeded rollout is green on a terminal');
    for (const h of ['m1', 'm2']) assert.equal(await fleet.installed(h), '2.0');
  });
});
