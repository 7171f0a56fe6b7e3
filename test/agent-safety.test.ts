/**
 * What keeps the agent safe on a host: deadlines that kill whole process
 * trees, one operation at a time per service, bounded output, and refusal of
 * anything not in its own config.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { makeTempDir, useCleanup, waitFor, type Cleanup } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { killAll, isAlive } from '@smgr/testing/procs';
import { installSleeper, startEngine, stepNames } from '@smgr/testing/agent-engine';

const killPids = (pids: number[]) => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
};

async function workDir(cleanup: Cleanup, label: string): Promise<string> {
  const dir = await makeTempDir(label);
  cleanup.add(() => dir.remove());
  return dir.path;
}

async function script(dir: string, file: string, body: string): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

const pidsIn = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

describe('deadlines', () => {
  test('a hung command is killed at command_timeout together with its children and grandchildren', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'hang');
    const pidFile = join(dir, 'pids');
    cleanup.add(async () => killPids(await pidsIn(pidFile)), 'leftover tree');
    // The command, a child, a grandchild, and a grandchild that left the session with setsid.
    const hang = await script(
      dir,
      'hang.sh',
      `sleep 300 & echo $! >> "$1"
bash -c 'sleep 300 & echo $! >> "$1"; setsid sleep 300 & echo $! >> "$1"; echo $$ >> "$1"; wait' _ "$1" &
echo $! >> "$1"
echo $$ >> "$1"
wait`,
    );
    const name = uniqueServiceName('hung');
    const engine = await startEngine(cleanup, { [name]: { assert_up_command: `${hang} ${pidFile}`, command_timeout: 1 } });

    const r = await engine.run(Operation.STATUS, name);

    const pids = [...new Set(await pidsIn(pidFile))];
    assert.equal(pids.length, 5, `the tree had 5 processes: ${pids.join(',')}`);
    const step = r.steps[0]!;
    assert.equal(step.timedOut, true);
    assert.equal(step.exitCode, -1);
    assert.match(step.error, /^timed out after 1000 ms; killed the process tree \(pid [\d,]+\)$/);
    assert.equal(r.outcome, Outcome.FAILED);
    await waitFor(() => pids.every((p) => !isAlive(p)), {
      timeoutMs: 5_000,
      message: 'every process of the tree gone',
      context: () => pids.filter(isAlive).join(','),
    });
  });

  test('the operation deadline cuts a retrying health check and ends the job, saying why', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'opdl');
    const name = uniqueServiceName('late');
    cleanup.add(() => killAll(name));
    const { start } = await installSleeper(dir, name);
    const engine = await startEngine(cleanup, {
      [name]: {
        restart_strategy: 'process',
        start_command: start,
        health_check_command: 'sleep 60',
        health_check_timeout: 120,
        max_attempts: 5,
        restart_delay: 0,
        operation_timeout: 1.5,
      },
    });
    const r = await engine.run(Operation.RESTART, name);
    assert.equal(r.outcome, Outcome.FAILED);
    assert.equal(r.attempts, 1, 'no second attempt after the deadline');
    assert.match(r.message, /operation deadline of 1\.5 s reached during attempt 1$/);
    assert.equal(r.steps.at(-1)!.timedOut, true);
  });

  test("the controller's deadline_ms overrides operation_timeout", async (t) => {
    const cleanup = useCleanup(t);
    const name = uniqueServiceName('dl');
    const engine = await startEngine(cleanup, { [name]: { assert_up_command: 'sleep 60', operation_timeout: 120 } });
    const r = await engine.run(Operation.STATUS, name, { deadlineMs: 700 });
    assert.equal(r.steps[0]!.timedOut, true);
    assert.match(r.steps[0]!.error, /^timed out after (69\d|700) ms/);
  });

  test('a command that leaves a background child holding its output does not hold the operation', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'bg');
    const pidFile = join(dir, 'pid');
    cleanup.add(async () => killPids(await pidsIn(pidFile)));
    const name = uniqueServiceName('bg');
    const engine = await startEngine(cleanup, {
      [name]: { assert_up_command: `/bin/sh -c 'sleep 300 & echo $! > ${pidFile}; echo started'`, command_timeout: 20 },
    });
    const r = await engine.run(Operation.STATUS, name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.steps[0]!.timedOut, false);
    assert.equal(r.steps[0]!.outputTail, 'started\n');
    const [bg] = await pidsIn(pidFile);
    assert.equal(isAlive(bg!), true, 'what a command leaves running on purpose is not killed');
  });
});

describe('serialization', () => {
  test('operations on one service run one at a time, while another service is not held up', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'serial');
    const log = join(dir, 'log');
    const slow = `/bin/sh -c 'echo "begin $SMGR_SERVICE" >> ${log}; sleep 0.4; echo "end $SMGR_SERVICE" >> ${log}'`;
    const a = uniqueServiceName('a');
    const b = uniqueServiceName('b');
    const engine = await startEngine(cleanup, { [a]: { assert_up_command: slow }, [b]: { assert_up_command: slow } });

    const jobs = [engine.run(Operation.STATUS, a), engine.run(Operation.STATUS, a), engine.run(Operation.STATUS, b), engine.run(Operation.STATUS, a)];
    await waitFor(() => engine.runner.isBusy(a) && engine.runner.activeJobIds().length === 4, { timeoutMs: 2_000, message: 'all four jobs queued' });
    const results = await Promise.all(jobs);

    assert.ok(results.every((r) => r.outcome === Outcome.SUCCEEDED));
    const entries = readFileSync(log, 'utf8').trim().split('\n');
    assert.deepEqual(
      entries.filter((e) => e.endsWith(a)).map((e) => e.split(' ')[0]),
      ['begin', 'end', 'begin', 'end', 'begin', 'end'],
      'never two operations on one service at once',
    );
    const firstEndA = entries.indexOf(`end ${a}`);
    assert.ok(entries.indexOf(`begin ${b}`) < firstEndA, `b ran alongside a: ${entries.join(' | ')}`);
    assert.equal(engine.runner.isBusy(a), false);
  });

  test('a job id sent twice runs once; the second gets the recorded result, marked replayed', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'dedupe');
    const count = join(dir, 'count');
    const name = uniqueServiceName('once');
    const engine = await startEngine(cleanup, { [name]: { assert_up_command: `/bin/sh -c 'echo x >> ${count}'` } });
    const first = await engine.run(Operation.STATUS, name, { jobId: 'job-42' });
    const second = await engine.run(Operation.STATUS, name, { jobId: 'job-42' });
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.message, first.message);
    assert.equal(readFileSync(count, 'utf8'), 'x\n');
  });
});

describe('refusals and bounds', () => {
  test('an unknown service, an unknown operation or a malformed job id is refused and nothing runs', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await workDir(cleanup, 'refuse');
    const canary = join(dir, 'CANARY');
    const name = uniqueServiceName('known');
    const touch = `touch ${canary}`;
    const engine = await startEngine(cleanup, {
      [name]: { assert_up_command: touch, assert_down_command: touch, start_command: touch, stop_command: touch, pre_restart_command: touch },
    });
    const cases: [Operation, string, string | undefined, RegExp][] = [
      [Operation.RESTART, 'sshd', undefined, /^unknown service "sshd": not in this agent's config$/],
      [Operation.START, `${name}; touch ${canary}`, undefined, /^unknown service /],
      [99 as Operation, name, undefined, /^operation 99 is not supported by this agent$/],
      [Operation.UNSPECIFIED, name, undefined, /^operation UNSPECIFIED is not supported by this agent$/],
      [Operation.STATUS, name, 'bad id with spaces', /^malformed job id$/],
    ];
    for (const [op, service, jobId, message] of cases) {
      const r = await engine.run(op, service, jobId ? { jobId } : {});
      assert.equal(r.outcome, Outcome.REFUSED, `${op} ${service}`);
      assert.match(r.message, message);
      assert.deepEqual(stepNames(r), []);
    }
    assert.equal(existsSync(canary), false, 'no hook ran');
    assert.ok(engine.logs.some((l) => l.msg === 'job refused' && l.reason === 'malformed job id'));
  });

  test('command output is kept as a bounded tail: the end, never more than output_tail_bytes', async (t) => {
    const cleanup = useCleanup(t);
    const name = uniqueServiceName('loud');
    const engine = await startEngine(
      cleanup,
      { [name]: { assert_up_command: `/bin/sh -c 'head -c 300000 /dev/zero | tr "\\000" x; echo; echo THE END'` } },
      { output_tail_bytes: 1024 },
    );
    const r = await engine.run(Operation.STATUS, name);
    const tail = r.steps[0]!.outputTail;
    assert.equal(Buffer.byteLength(tail), 1024);
    assert.ok(tail.endsWith('x\nTHE END\n'));
  });
});
