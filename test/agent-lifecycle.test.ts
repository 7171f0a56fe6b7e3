/**
 * Seed 003's lifecycle on real processes: Start / Stop / Status from the
 * assert hooks, hooks as lists of fallbacks, Update with a version, and
 * start-all / stop-all by startup_rank.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome, type JobResult } from '@smgr/shared';
import { makeTempDir, useCleanup, type Cleanup } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { findPids, killAll } from '@smgr/testing/procs';
import { installSleeper, startEngine, stepNames } from '@smgr/testing/agent-engine';
import { engineOnSleeper, sleeperService } from './support-agent-services.js';

const lines = async (path: string) =>
  (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

describe('start, stop and status', () => {
  test('start brings a stopped service up once; a second start finds it up and starts nothing', async (t) => {
    const { svc, engine } = await engineOnSleeper(t, 'st');

    const first = await engine.run(Operation.START, svc.name);
    assert.equal(first.outcome, Outcome.SUCCEEDED, first.message);
    assert.deepEqual(stepNames(first), ['assert_up', 'start', 'assert_up']);
    assert.equal(first.steps[0]!.ok, false, 'it was down');
    const [pid] = findPids(svc.name);
    assert.equal(first.message, `started by process strategy (pid ${pid})`);

    const second = await engine.run(Operation.START, svc.name);
    assert.equal(second.outcome, Outcome.SUCCEEDED);
    assert.equal(second.message, 'already up; nothing started');
    assert.deepEqual(stepNames(second), ['assert_up']);
    assert.deepEqual(findPids(svc.name), [pid!]);
  });

  test('stop brings it down and holds it; a second stop finds it down; start releases the hold', async (t) => {
    const { svc, engine } = await engineOnSleeper(t, 'sp');
    await engine.run(Operation.START, svc.name);

    const stop = await engine.run(Operation.STOP, svc.name);
    assert.equal(stop.outcome, Outcome.SUCCEEDED, stop.message);
    assert.equal(stop.message, 'stopped by process strategy');
    assert.deepEqual(stepNames(stop), ['assert_down', 'stop', 'assert_down']);
    assert.deepEqual(findPids(svc.name), []);
    assert.equal(engine.holds.isHeld(svc.name), true, 'a deliberate stop is not watched');

    const again = await engine.run(Operation.STOP, svc.name);
    assert.equal(again.message, 'already down; nothing stopped');

    await engine.run(Operation.START, svc.name);
    assert.equal(engine.holds.isHeld(svc.name), false);
  });

  test('status is SUCCEEDED when up and FAILED when down, with the version from version_command', async (t) => {
    const { svc, engine } = await engineOnSleeper(t, 'stat', { version_command: `/bin/sh -c 'echo build info; echo 3.1.4'` });
    const down = await engine.run(Operation.STATUS, svc.name);
    assert.equal(down.outcome, Outcome.FAILED);
    assert.equal(down.message, 'down (exit 1), version 3.1.4');
    assert.equal(down.version, '3.1.4');

    await engine.run(Operation.START, svc.name);
    const up = await engine.run(Operation.STATUS, svc.name);
    assert.equal(up.outcome, Outcome.SUCCEEDED);
    assert.equal(up.message, 'up, version 3.1.4');
    assert.deepEqual(stepNames(up), ['assert_up', 'version']);
    assert.deepEqual(up.steps[0]!.argv, ['(process table)', 'pgrep -x --', svc.name], 'the default assert_up is the health check, answered from /proc');
  });
});

describe('hooks', () => {
  test('a hook given as a list tries its commands in order until one succeeds (the Tomcat shutdown fallback)', async (t) => {
    const { svc, engine } = await engineOnSleeper(t, 'tom', {
      // The control port refuses; the shutdown script does the job.
      stop_command: [`/bin/sh -c 'echo "connect to 127.0.0.1:8005 refused"; exit 1'`, 'pkill -TERM -x -- %s'],
      assert_up_command: ['/bin/false', 'pgrep -x -- %s'],
    });
    await engine.run(Operation.START, svc.name);

    const r = await engine.run(Operation.STOP, svc.name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    const stops = r.steps.filter((s) => s.name === 'stop');
    assert.deepEqual(
      stops.map((s) => [s.argv[0], s.ok]),
      [
        ['/bin/sh', false],
        ['pkill', true],
        ['kill', true],
      ],
    );
    assert.match(stops[0]!.outputTail, /8005 refused/);
    assert.match(stops[2]!.outputTail, /no running process found/, 'the fallback stopped it; no signal was needed');
    assert.deepEqual(
      r.steps.filter((s) => s.name === 'assert_down').map((s) => s.argv[0]),
      ['/bin/false', 'pgrep', '/bin/false', 'pgrep'],
      'assert_up alternatives decide assert_down when none is configured',
    );
  });

  test('hooks run with the service env list, SMGR_SERVICE and working_dir', async (t) => {
    const cleanup = useCleanup(t);
    const svc = await sleeperService(cleanup, 'env');
    const engine = await startEngine(cleanup, {
      [svc.name]: { assert_up_command: `/bin/sh -c 'echo "$GREETING $SMGR_SERVICE $(pwd)"'`, env: ['GREETING=hello'], working_dir: svc.dir },
    });
    const r = await engine.run(Operation.STATUS, svc.name);
    assert.equal(r.steps[0]!.outputTail.trim(), `hello ${svc.name} ${svc.dir}`);
  });
});

describe('update', () => {
  async function updatable(cleanup: Cleanup, installExit = 0, more: Record<string, boolean> = {}) {
    const svc = await sleeperService(cleanup, 'upd');
    const installed = join(svc.dir, 'installed');
    const journal = join(svc.dir, 'journal');
    const engine = await startEngine(cleanup, {
      [svc.name]: {
        restart_strategy: 'process',
        start_command: `/bin/sh -c 'echo "start $SMGR_VERSION" >> ${journal}; exec ${svc.start}'`,
        stop_command: `/bin/sh -c 'echo "stop $SMGR_VERSION" >> ${journal}'`,
        install_command: `/bin/sh -c 'echo "install $SMGR_VERSION" >> ${journal}; echo "$SMGR_VERSION" > ${installed}; exit ${installExit}'`,
        configure_command: `/bin/sh -c 'echo "configure $SMGR_VERSION" >> ${journal}'`,
        version_command: `cat ${installed}`,
        restart_delay: 0,
        // The stop_command only records itself; the signal that follows it need not wait long.
        stop_timeout: 0.3,
        ...more,
      },
    });
    return { svc, engine, journal, installed };
  }

  test('update runs stop, install, configure, start, health check and version, with the version as SMGR_VERSION', async (t) => {
    const cleanup = useCleanup(t);
    const { svc, engine, journal } = await updatable(cleanup);
    await engine.run(Operation.START, svc.name);
    const before = findPids(svc.name);

    const r = await engine.run(Operation.UPDATE, svc.name, { version: '2.4.1-rc.1' });

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.version, '2.4.1-rc.1');
    assert.match(r.message, /^updated to 2\.4\.1-rc\.1; started by process strategy/);
    const main = stepNames(r).filter((n) => ['stop', 'install', 'configure', 'start', 'health_check', 'version'].includes(n));
    // The first version step is the downgrade check (nothing installed yet: nothing to compare).
    assert.deepEqual(main, ['version', 'stop', 'stop', 'install', 'configure', 'start', 'health_check', 'version']);
    assert.deepEqual(await lines(journal), ['start', 'stop 2.4.1-rc.1', 'install 2.4.1-rc.1', 'configure 2.4.1-rc.1', 'start 2.4.1-rc.1']);
    const after = findPids(svc.name);
    assert.equal(after.length, 1);
    assert.notDeepEqual(after, before);
  });

  test('an update to a version older than the installed one is refused unless the service allows downgrades', async (t) => {
    const cleanup = useCleanup(t);
    const { svc, engine, journal } = await updatable(cleanup);
    assert.equal((await engine.run(Operation.UPDATE, svc.name, { version: '1.10.0' })).outcome, Outcome.SUCCEEDED);
    const installs = (await lines(journal)).length;
    const down = await engine.run(Operation.UPDATE, svc.name, { version: '1.9.5' });
    assert.equal(down.outcome, Outcome.FAILED);
    assert.equal(
      down.message,
      `update to 1.9.5 refused: it is older than the installed 1.10.0; set [process.${svc.name}] allow_downgrade = true in this agent's config to allow downgrades (and rollbacks)`,
    );
    assert.equal(down.version, '1.10.0');
    assert.equal((await lines(journal)).length, installs, 'nothing stopped or installed');
    assert.equal(findPids(svc.name).length, 1, 'the service still runs');
    assert.equal((await engine.run(Operation.UPDATE, svc.name, { version: '1.10.1' })).outcome, Outcome.SUCCEEDED, 'upgrades still work');

    const allowed = await updatable(cleanup, 0, { allow_downgrade: true });
    assert.equal((await allowed.engine.run(Operation.UPDATE, allowed.svc.name, { version: '2.0' })).outcome, Outcome.SUCCEEDED);
    const back = await allowed.engine.run(Operation.UPDATE, allowed.svc.name, { version: '1.0' });
    assert.equal(back.outcome, Outcome.SUCCEEDED, back.message);
    assert.equal(back.version, '1.0');
  });

  test('a failed install leaves the service running on what was installed and says so', async (t) => {
    const cleanup = useCleanup(t);
    const { svc, engine, journal } = await updatable(cleanup, 1);
    await engine.run(Operation.START, svc.name);

    const r = await engine.run(Operation.UPDATE, svc.name, { version: '9.0' });

    assert.equal(r.outcome, Outcome.FAILED);
    assert.equal(r.message, 'install of 9.0 failed (exit 1); the service was started again on the previous installation');
    assert.deepEqual(await lines(journal), ['start', 'stop 9.0', 'install 9.0', 'start 9.0']);
    assert.equal(findPids(svc.name).length, 1, 'running again');
  });

  test('an update without a version, or with a version a shell could act on, is refused and runs nothing', async (t) => {
    const cleanup = useCleanup(t);
    const { svc, engine, journal } = await updatable(cleanup);
    for (const version of ['', '1.0; rm -rf /', '$(id)', '../../etc', '-1']) {
      const r = await engine.run(Operation.UPDATE, svc.name, { version });
      assert.equal(r.outcome, Outcome.REFUSED, version);
      assert.match(r.message, version === '' ? /UPDATE needs a version/ : /is not allowed: letters, digits and \. _ \+ : ~ - only/);
      assert.equal(r.steps.length, 0);
    }
    assert.deepEqual(await lines(journal), []);
  });
});

describe('startup_rank', () => {
  async function ranked(cleanup: Cleanup, failing?: string, agent: Record<string, boolean> = { allow_stop_all: true }) {
    const dir = await makeTempDir('rank', cleanup);
    const order = join(dir.path, 'order');
    const services: Record<string, Record<string, string | number>> = {};
    const names: Record<string, string> = {};
    for (const [label, rank] of [
      ['web', 20],
      ['db', 10],
      ['worker', 30],
      ['cache', 10],
    ] as const) {
      const name = uniqueServiceName(label);
      names[label] = name;
      cleanup.add(() => killAll(name));
      const { start } = await installSleeper(dir.path, name);
      services[name] = {
        restart_strategy: 'process',
        startup_rank: rank,
        start_command:
          label === failing ? `/bin/sh -c 'echo start ${label} >> ${order}; exit 1'` : `/bin/sh -c 'echo start ${label} >> ${order}; exec ${start}'`,
        stop_command: `/bin/sh -c 'echo stop ${label} >> ${order}'`,
        stop_timeout: 0.3,
        health_check_timeout: 1,
      };
    }
    return { engine: await startEngine(cleanup, services, agent), order, names };
  }

  /** [service, outcome] of each service of a "*" job, in the order the job took them. */
  const outcomes = (r: JobResult) => r.services.map((s) => [s.service, s.outcome]);
  /** [service, outcome(label)] of the ranked services by ascending rank (db and cache share rank 10, in file order). */
  const inRankOrder = (names: Record<string, string>, outcome: (label: string) => Outcome) =>
    ['db', 'cache', 'web', 'worker'].map((label) => [names[label], outcome(label)]);

  test('start-all starts by ascending rank and stop-all stops by descending rank', async (t) => {
    const cleanup = useCleanup(t);
    const { engine, order, names } = await ranked(cleanup);

    const start = await engine.run(Operation.START, '*');
    assert.equal(start.outcome, Outcome.SUCCEEDED, start.message);
    assert.deepEqual(await lines(order), ['start db', 'start cache', 'start web', 'start worker']);
    assert.deepEqual(
      outcomes(start),
      inRankOrder(names, () => Outcome.SUCCEEDED),
    );
    for (const n of Object.values(names)) assert.equal(findPids(n).length, 1, `${n} runs`);

    const stop = await engine.run(Operation.STOP, '*');
    assert.equal(stop.outcome, Outcome.SUCCEEDED, stop.message);
    assert.deepEqual((await lines(order)).slice(4), ['stop worker', 'stop web', 'stop cache', 'stop db']);
    for (const n of Object.values(names)) assert.deepEqual(findPids(n), [], `${n} stopped`);
  });

  test('start-all stops at the first service that fails and starts nothing ranked above it', async (t) => {
    const cleanup = useCleanup(t);
    const { engine, order, names } = await ranked(cleanup, 'cache');

    const r = await engine.run(Operation.START, '*');

    assert.equal(r.outcome, Outcome.FAILED);
    assert.deepEqual(await lines(order), ['start db', 'start cache']);
    assert.deepEqual(
      outcomes(r),
      inRankOrder(names, (label) => (label === 'db' ? Outcome.SUCCEEDED : Outcome.FAILED)),
    );
    assert.match(r.services[2]!.message, new RegExp(`not started: ${names.cache} \\(rank 10\\) failed to start`));
    assert.match(r.message, /^start by rank: 3 of 4 failed/);
  });

  test('STOP of "*" is refused unless the agent allows it, and stops nothing', async (t) => {
    const cleanup = useCleanup(t);
    const { engine, order, names } = await ranked(cleanup, undefined, {});
    assert.equal((await engine.run(Operation.START, '*')).outcome, Outcome.SUCCEEDED);
    const stop = await engine.run(Operation.STOP, '*');
    assert.equal(stop.outcome, Outcome.REFUSED);
    assert.equal(
      stop.message,
      'STOP of "*" (every service of this agent) is refused here: set [agent] allow_stop_all = true in this agent\'s config to allow it',
    );
    assert.ok(!(await lines(order)).some((l) => l.startsWith('stop')));
    for (const n of Object.values(names)) assert.equal(findPids(n).length, 1, `${n} still runs`);
    assert.equal((await engine.run(Operation.STOP, names.web!)).outcome, Outcome.SUCCEEDED, 'one service can still be stopped');
  });

  test('RESTART and UPDATE of "*" are refused', async (t) => {
    const cleanup = useCleanup(t);
    const { engine, order } = await ranked(cleanup);
    for (const op of [Operation.RESTART, Operation.UPDATE]) {
      const r = await engine.run(op, '*', { version: '1.0' });
      assert.equal(r.outcome, Outcome.REFUSED);
      assert.match(r.message, /not supported for "\*"/);
    }
    assert.deepEqual(await lines(order), []);
  });
});
