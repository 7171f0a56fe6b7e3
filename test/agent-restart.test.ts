/**
 * Seed 002's restart parameters on real processes: the pre-restart gate,
 * health-check retries until health_check_timeout, max_attempts and
 * restart_delay, layered built-in < [process.default] < [process.NAME].
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { makeTempDir, useCleanup } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { findPids } from '@smgr/testing/procs';
import { startEngine, stepNames } from '@smgr/testing/agent-engine';
import { engineOnRunningSleeper } from './support-agent-services.js';

describe('pre-restart gate', () => {
  test('a failing pre_restart_command aborts the restart: nothing is stopped and the result quotes its output', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'gate', {
      pre_restart_command: `/bin/sh -c 'echo "AH00526: Syntax error on line 7 of httpd.conf"; exit 1'`,
    });

    const r = await engine.run(Operation.RESTART, svc.name);

    assert.equal(r.outcome, Outcome.FAILED);
    assert.equal(r.message, 'pre-restart check failed (exit 1): AH00526: Syntax error on line 7 of httpd.conf; nothing was stopped');
    assert.deepEqual(stepNames(r), ['pre_restart']);
    assert.equal(r.attempts, 0);
    assert.deepEqual(findPids(svc.name), [svc.pid], 'the running service was not touched');
  });

  test('a passing pre_restart_command lets the restart go ahead', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'gateok', { pre_restart_command: '/bin/true' });
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.deepEqual(stepNames(r), ['pre_restart', 'stop', 'start', 'health_check']);
  });
});

describe('health check', () => {
  test('is retried until it passes within health_check_timeout', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'slow', (svc) => ({
      // The service becomes healthy only after its third check.
      health_check_command: `/bin/sh -c 'echo x >> ${svc.dir}/ready; test $(wc -l < ${svc.dir}/ready) -ge 3'`,
      health_check_interval: 0.1,
      health_check_timeout: 30,
    }));
    const ready = join(svc.dir, 'ready');
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    const health = r.steps.at(-1)!;
    assert.equal(health.name, 'health_check');
    assert.match(health.outputTail, /^3 tries; /);
    assert.equal((await readFile(ready, 'utf8')).split('\n').filter(Boolean).length, 3);
  });

  test('fails the attempt when it has not passed by health_check_timeout, after several tries', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'sick', {
      health_check_command: `/bin/sh -c 'echo not ready; exit 2'`,
      health_check_interval: 0.1,
      health_check_timeout: 0.8,
      max_attempts: 1,
    });
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.FAILED);
    const tries = Number(/health check failed \(exit 2, (\d+) tries\) after 1 attempt$/.exec(r.message)?.[1]);
    assert.ok(tries >= 2, `retried (${r.message})`);
    const health = r.steps.at(-1)!;
    assert.equal(health.exitCode, 2);
    assert.match(health.outputTail, /not ready/);
  });
});

describe('attempts', () => {
  test('max_attempts bounds the stop+start cycles of one job, and restart_delay separates them', async (t) => {
    const cleanup = useCleanup(t);
    const dir = await makeTempDir('attempts', cleanup);
    const name = uniqueServiceName('flaky');
    const count = join(dir.path, 'starts');
    const engine = await startEngine(cleanup, {
      default: { max_attempts: 3, restart_delay: 5 },
      // [process.NAME] overrides restart_delay and keeps max_attempts from [process.default].
      [name]: { restart_strategy: 'process', start_command: `/bin/sh -c 'echo start >> ${count}; exit 1'`, restart_delay: 0.3 },
    });

    const r = await engine.run(Operation.RESTART, name);

    assert.equal(r.outcome, Outcome.FAILED);
    assert.equal(r.attempts, 3);
    assert.equal(r.message, 'start command exited 1 after 3 attempts');
    assert.equal((await readFile(count, 'utf8')).split('\n').filter(Boolean).length, 3, 'three starts, no more');
    const starts = r.steps.filter((s) => s.name === 'start');
    for (let i = 1; i < starts.length; i++) {
      const gap = Number(starts[i]!.startedAtMs) - (Number(starts[i - 1]!.startedAtMs) + Number(starts[i - 1]!.durationMs));
      assert.ok(gap >= 300, `attempt ${i + 1} started ${gap} ms after attempt ${i} ended; restart_delay is 300 ms`);
    }
  });

  test('a later attempt that succeeds ends the job there', async (t) => {
    const { svc, engine } = await engineOnRunningSleeper(t, 'second', (svc) => {
      const marker = join(svc.dir, 'tried');
      // The first start fails; the second runs the service.
      return { start_command: `/bin/sh -c 'test -e ${marker} || { touch ${marker}; exit 1; }; exec ${svc.start}'`, max_attempts: 3, restart_delay: 0 };
    });
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.attempts, 2);
    assert.match(r.message, /, attempt 2$/);
    assert.deepEqual(stepNames(r), ['stop', 'start', 'stop', 'start', 'health_check']);
    assert.equal(findPids(svc.name).length, 1);
  });
});
