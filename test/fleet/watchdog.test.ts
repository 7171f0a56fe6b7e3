/**
 * The shipped smgr-agent unit under a real systemd, on one nspawn host and
 * without Ansible: Type=notify start-up (READY=1 from the daemon's user,
 * hence NotifyAccess=all), no false watchdog timeout while it runs, a restart
 * by the watchdog when the daemon is SIGSTOPped, and a clean stop. The whole
 * fleet (controller and agents, installed by the playbooks) repeats the
 * SIGSTOP check on the controller in fleet.test.ts. Runs with SMGR_FLEET=1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useCleanup, waitFor } from '@smgr/testing';
import { bootPackagedHost } from './support/packaged-host.js';

const UNIT = 'smgr-agent.service';

test('a SIGSTOPped agent misses its watchdog pings and systemd restarts it; a healthy one is left alone', { timeout: 900_000 }, async (t) => {
  const c = useCleanup(t);
  const { host } = await bootPackagedHost(c, { name: 'smgr-watchdog', label: 'watchdog', labHost: 'w1' });

  // Nothing listens on the controller address: READY means serving, not connected.
  await host.exec(['useradd', '--system', 'smgr-agent']);
  await host.exec(['mkdir', '-p', '/etc/smgr', `/etc/systemd/system/${UNIT}.d`]);
  await host.exec(['tee', '/etc/smgr/agent.ini'], {
    input: '[agent]\ncontroller = 127.0.0.1:9\nhost_id = w1\nstate_dir = /var/lib/smgr-agent\n\n[tls]\ninsecure = true\n',
  });
  await host.exec(['cp', '/opt/smgr/current/share/systemd/smgr-agent.service', `/etc/systemd/system/${UNIT}`]);
  // A short interval for the test, as an operator would set one.
  await host.exec(['tee', `/etc/systemd/system/${UNIT}.d/90-watchdog.conf`], { input: '[Service]\nWatchdogSec=3s\n' });
  await host.systemctl('daemon-reload');

  const show = async () => {
    const props = await host.systemctl('show', UNIT, '--property=Type,NotifyAccess,WatchdogUSec,MainPID,ActiveState,NRestarts,Result');
    const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(props)?.[1] ?? '';
    return { props, pid: Number(get('MainPID')), state: get('ActiveState'), restarts: Number(get('NRestarts')), result: get('Result') };
  };
  // `systemctl start` of a Type=notify unit returns once READY=1 arrived.
  const started = await host.exec(['systemctl', 'start', UNIT], { allowFailure: true, timeoutMs: 120_000 });
  const first = await show();
  assert.equal(started.code, 0, `systemctl start: ${started.stderr}\n${first.props}`);
  for (const want of ['Type=notify', 'NotifyAccess=all', 'WatchdogUSec=3s', 'ActiveState=active']) {
    assert.match(first.props, new RegExp(`^${want}$`, 'm'));
  }

  // Three watchdog intervals of a healthy agent: pings arrive, no restart.
  await new Promise((r) => setTimeout(r, 9_000));
  const healthy = await show();
  assert.equal(healthy.pid, first.pid, `a running agent is not restarted:\n${healthy.props}`);
  assert.equal(healthy.restarts, 0);

  await host.exec(['kill', '-STOP', String(first.pid)]);
  const restarted = await waitFor(
    async () => {
      const s = await show();
      return s.pid > 0 && s.pid !== first.pid && s.state === 'active' ? s : null;
    },
    { timeoutMs: 90_000, intervalMs: 500, message: 'systemd restarted the stopped agent' },
  );
  assert.equal(restarted.restarts, 1, restarted.props);
  const journal = (await host.exec(['journalctl', `--unit=${UNIT}`, '--no-pager', '--output=cat'])).stdout;
  assert.match(journal, /Watchdog timeout \(limit 3s\)/);
  assert.match(journal, /Failed with result 'watchdog'/);

  // A clean stop (STOPPING=1, exit 0) is a success, not a failure.
  await host.systemctl('stop', UNIT);
  const stopped = await show();
  assert.equal(stopped.state, 'inactive', stopped.props);
  assert.equal(stopped.result, 'success', stopped.props);
});
