/**
 * The `service` strategy against a real service manager: an LSB init script
 * in /etc/init.d driven through /usr/sbin/service (which runs init scripts
 * itself when systemd is not PID 1, as here). Real systemd hosts are covered
 * by the fleet tests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Operation, Outcome } from '@smgr/shared';
import { useCleanup, waitFor, type AfterHookHost, type Cleanup } from '@smgr/testing';
import { findPids } from '@smgr/testing/procs';
import { startEngine } from '@smgr/testing/agent-engine';
import { sleeperService } from './support-agent-services.js';

const SERVICE_BIN = '/usr/sbin/service';
const usable = process.getuid?.() === 0 && existsSync(SERVICE_BIN) && existsSync('/etc/init.d') && !existsSync('/run/systemd/system');

/**
 * Installs /etc/init.d/NAME for a daemon (a copy of sleep), started in the
 * background by start-stop-daemon with a pidfile. `restartExit` makes
 * `restart` fail with that code (a broken init script).
 */
async function installInitScript(cleanup: Cleanup, opts: { restartExit?: number } = {}): Promise<{ name: string; start: string; script: string }> {
  const { name, path: daemon, start, dir } = await sleeperService(cleanup, 'smgrsv');
  const pidfile = join(dir, `${name}.pid`);
  const restart = opts.restartExit === undefined ? '$0 stop; $0 start' : `echo "restart is broken in this script" >&2; exit ${opts.restartExit}`;
  const script = `/etc/init.d/${name}`;
  await writeFile(
    script,
    `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${name}
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: smgr test service (removed by the test)
### END INIT INFO
PIDFILE=${pidfile}
case "$1" in
  start)  start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --startas ${daemon} -- infinity ;;
  stop)   start-stop-daemon --stop --quiet --pidfile "$PIDFILE" --retry TERM/5/KILL/2 --remove-pidfile; rc=$?; [ $rc -eq 1 ] && exit 0; exit $rc ;;
  restart) ${restart} ;;
  status) start-stop-daemon --status --pidfile "$PIDFILE" ;;
  *) echo "Usage: $0 {start|stop|restart|status}" >&2; exit 3 ;;
esac
`,
  );
  cleanup.add(() => rm(script, { force: true }), script);
  await chmod(script, 0o755);
  return { name, start, script };
}

type Services = Parameters<typeof startEngine>[1];

/** An engine for test `t` on the services `services(svc)` names, `svc` a fresh init script (see installInitScript). */
async function engineOnInitScript(
  t: AfterHookHost,
  services: (svc: { name: string; start: string }) => Services,
  opts: { restartExit?: number; sudo?: boolean } = {},
) {
  const cleanup = useCleanup(t);
  const svc = await installInitScript(cleanup, opts);
  const engine = await startEngine(cleanup, services(svc), opts.sudo ? { sudo: true } : {});
  return { svc, engine };
}

/** Exactly one process runs under `name`, and it is not `before`. */
function assertReplaced(name: string, before: number | undefined): void {
  const after = findPids(name);
  assert.equal(after.length, 1);
  assert.notEqual(after[0], before);
}

describe('service strategy through SysV init scripts', { skip: usable ? false : 'needs root, /usr/sbin/service and no systemd as PID 1' }, () => {
  test('restart runs `service NAME restart` and the init script brings up a new process', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({ [svc.name]: { restart_strategy: 'service', restart_delay: 0 } }));
    assert.equal((await engine.run(Operation.START, svc.name)).outcome, Outcome.SUCCEEDED);
    const [before] = await waitFor(() => (findPids(svc.name).length === 1 ? findPids(svc.name) : null), { timeoutMs: 5_000, message: 'service up' });

    const r = await engine.run(Operation.RESTART, svc.name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'service');
    const restart = r.steps.find((s) => s.name === 'restart')!;
    assert.deepEqual(restart.argv, [SERVICE_BIN, svc.name, 'restart']);
    assert.equal(restart.exitCode, 0);
    assertReplaced(svc.name, before);
  });

  test('start, status and stop go through the init script, and status follows its LSB exit code', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({
      // No health or assert commands: the service manager's own status is the check.
      [svc.name]: { restart_strategy: 'service', health_check_command: '' },
    }));

    const start = await engine.run(Operation.START, svc.name);
    assert.equal(start.outcome, Outcome.SUCCEEDED, start.message);
    assert.deepEqual(start.steps.find((s) => s.name === 'start')?.argv, [SERVICE_BIN, svc.name, 'start']);
    assert.deepEqual(start.steps.at(-1)?.argv, [SERVICE_BIN, svc.name, 'status']);
    assert.equal(findPids(svc.name).length, 1);

    const status = await engine.run(Operation.STATUS, svc.name);
    assert.equal(status.outcome, Outcome.SUCCEEDED);
    assert.match(status.message, /^up/);

    const stop = await engine.run(Operation.STOP, svc.name);
    assert.equal(stop.outcome, Outcome.SUCCEEDED, stop.message);
    assert.deepEqual(stop.steps.find((s) => s.name === 'stop')?.argv, [SERVICE_BIN, svc.name, 'stop']);
    assert.deepEqual(findPids(svc.name), []);

    const down = await engine.run(Operation.STATUS, svc.name);
    assert.equal(down.outcome, Outcome.FAILED);
    assert.match(down.message, /^down \(exit 3\)/);
  });

  test('service_name points the strategy at a differently named init script', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({
      'my-app': { restart_strategy: 'service', service_name: svc.name, health_check_command: '' },
    }));
    const r = await engine.run(Operation.START, 'my-app');
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.deepEqual(r.steps.find((s) => s.name === 'start')?.argv, [SERVICE_BIN, svc.name, 'start']);
  });

  test('auto uses the init script when the host has one for the service', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({ [svc.name]: { restart_strategy: 'auto', start_command: svc.start } }));
    await engine.run(Operation.START, svc.name);
    const r = await engine.run(Operation.RESTART, svc.name);
    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'service');
    assert.doesNotMatch(r.message, /auto:/);
  });

  test('auto falls back to the process strategy when the init script fails, and the result says which worked', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({ [svc.name]: { restart_strategy: 'auto', start_command: svc.start, max_attempts: 1 } }), {
      restartExit: 1,
    });
    assert.equal((await engine.run(Operation.START, svc.name)).outcome, Outcome.SUCCEEDED);
    const [before] = findPids(svc.name);

    const r = await engine.run(Operation.RESTART, svc.name);

    assert.equal(r.outcome, Outcome.SUCCEEDED, r.message);
    assert.equal(r.strategy, 'process');
    assert.deepEqual(
      r.steps.map((s) => `${s.name}:${s.ok}`),
      ['restart:false', 'stop:true', 'start:true', 'health_check:true'],
    );
    assert.match(
      r.message,
      /restarted by process strategy .*auto: sysv restart .* failed \(exit 1\): restart is broken in this script; the process strategy worked/,
    );
    assertReplaced(svc.name, before);
  });

  test('with agent.sudo the init script is run as sudo -n service NAME ACTION', async (t) => {
    const { svc, engine } = await engineOnInitScript(t, (svc) => ({ [svc.name]: { restart_strategy: 'service', max_attempts: 1 } }), { sudo: true });
    const r = await engine.run(Operation.RESTART, svc.name);
    const restart = r.steps.find((s) => s.name === 'restart')!;
    assert.deepEqual(restart.argv, ['sudo', '-n', SERVICE_BIN, svc.name, 'restart']);
    if (!existsSync('/usr/bin/sudo')) {
      assert.equal(r.outcome, Outcome.FAILED);
      assert.match(r.message, /could not run sudo: ENOENT/);
    }
  });
});
