import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { detectServiceManager, ServiceManagers, type HostProbe } from './detect-service-manager.js';
import { OpenRcManager } from './openrc-manager.js';
import { SystemdManager } from './systemd-manager.js';
import { SysvManager } from './sysv-manager.js';
import { checkUnitName, type ProbeRunner } from './service-manager.js';

const host = (paths: string[], bins: Record<string, string>): HostProbe => ({
  exists: (p) => paths.includes(p),
  which: (b) => bins[b] ?? null,
});

const recordingProbe = (answer: { ok: boolean; output: string }) => {
  const calls: string[][] = [];
  const probe: ProbeRunner = async (argv) => {
    calls.push(argv);
    return answer;
  };
  return { calls, probe };
};

describe('service manager detection', () => {
  test('a host booted with systemd is detected as systemd even when service and rc-service exist', () => {
    assert.equal(
      detectServiceManager(host(['/run/systemd/system', '/run/openrc'], { service: '/usr/sbin/service', 'rc-service': '/sbin/rc-service' })),
      'systemd',
    );
  });

  test('OpenRC needs both rc-service on the PATH and /run/openrc', () => {
    assert.equal(detectServiceManager(host(['/run/openrc'], { 'rc-service': '/sbin/rc-service' })), 'openrc');
    assert.equal(detectServiceManager(host([], { 'rc-service': '/sbin/rc-service', service: '/usr/sbin/service' })), 'sysv');
  });

  test('SysV is detected from the service command or from /etc/init.d alone', () => {
    assert.equal(detectServiceManager(host([], { service: '/usr/sbin/service' })), 'sysv');
    assert.equal(detectServiceManager(host(['/etc/init.d'], {})), 'sysv');
  });

  test('a container without any init system has none, and auto then yields no manager', () => {
    assert.equal(detectServiceManager(host([], {})), 'none');
    const managers = new ServiceManagers({ probe: recordingProbe({ ok: true, output: '' }).probe, host: host([], {}) });
    assert.equal(managers.get('auto'), null);
    assert.equal(managers.get('none'), null);
  });

  test('a configured manager is used whatever detection says, and each is made once', () => {
    const managers = new ServiceManagers({ probe: recordingProbe({ ok: true, output: '' }).probe, host: host(['/run/systemd/system'], {}) });
    assert.equal(managers.get('openrc')?.name, 'openrc');
    assert.equal(managers.get('auto')?.name, 'systemd');
    assert.equal(managers.get('systemd'), managers.get('auto'));
  });
});

describe('systemd', () => {
  const { probe, calls } = recordingProbe({ ok: true, output: 'loaded\n' });
  const m = new SystemdManager(probe, '/usr/bin/systemctl');

  test('actions go through systemctl without ever waiting for a password prompt', () => {
    assert.deepEqual(m.argv('restart', 'nginx'), ['/usr/bin/systemctl', 'restart', '--no-ask-password', '--', 'nginx']);
    assert.deepEqual(m.argv('stop', 'app@1.service'), ['/usr/bin/systemctl', 'stop', '--no-ask-password', '--', 'app@1.service']);
  });

  test('status is systemctl is-active --quiet, which exits 0 only while the unit is active', () => {
    assert.deepEqual(m.argv('status', 'nginx'), ['/usr/bin/systemctl', 'is-active', '--quiet', '--', 'nginx']);
  });

  test('a unit exists when systemctl show reports LoadState=loaded', async () => {
    assert.equal(await m.hasUnit('nginx'), true);
    assert.deepEqual(calls.at(-1), ['/usr/bin/systemctl', 'show', '--property=LoadState', '--value', '--', 'nginx']);
    const notFound = new SystemdManager(recordingProbe({ ok: true, output: 'not-found\n' }).probe);
    assert.equal(await notFound.hasUnit('nginx'), false);
  });
});

describe('SysV', () => {
  test('uses the service command when there is one, else the init script itself', () => {
    assert.deepEqual(new SysvManager({ serviceBin: '/usr/sbin/service' }).argv('restart', 'apache2'), ['/usr/sbin/service', 'apache2', 'restart']);
    assert.deepEqual(new SysvManager({ serviceBin: null }).argv('status', 'apache2'), ['/etc/init.d/apache2', 'status']);
  });

  test('a prefix such as sudo -n goes in front of every command', () => {
    const m = new SysvManager({ serviceBin: '/usr/sbin/service', prefix: ['sudo', '-n'] });
    assert.deepEqual(m.argv('start', 'x'), ['sudo', '-n', '/usr/sbin/service', 'x', 'start']);
  });

  test('a unit exists when its init script is executable, and a name with a path never matches', async () => {
    const m = new SysvManager({ serviceBin: null, initDir: '/bin' });
    assert.equal(await m.hasUnit('sh'), true);
    assert.equal(await m.hasUnit('no-such-script-here'), false);
    assert.equal(await m.hasUnit('../bin/sh'), false);
  });
});

describe('OpenRC', () => {
  test('actions and status go through rc-service NAME ACTION (OpenRC is not installed here: argv only)', () => {
    const m = new OpenRcManager(recordingProbe({ ok: true, output: '' }).probe);
    assert.deepEqual(m.argv('restart', 'sshd'), ['rc-service', 'sshd', 'restart']);
    assert.deepEqual(m.argv('status', 'sshd'), ['rc-service', 'sshd', 'status']);
    assert.deepEqual(new OpenRcManager(recordingProbe({ ok: true, output: '' }).probe, ['sudo', '-n']).argv('stop', 'sshd'), [
      'sudo',
      '-n',
      'rc-service',
      'sshd',
      'stop',
    ]);
  });

  test('a unit exists when rc-service --exists succeeds', async () => {
    const yes = recordingProbe({ ok: true, output: '' });
    assert.equal(await new OpenRcManager(yes.probe).hasUnit('sshd'), true);
    assert.deepEqual(yes.calls, [['rc-service', '--exists', 'sshd']]);
    assert.equal(await new OpenRcManager(recordingProbe({ ok: false, output: '' }).probe).hasUnit('sshd'), false);
  });
});

test('unit names that could act as options or paths are rejected', () => {
  assert.equal(checkUnitName('nginx'), null);
  assert.equal(checkUnitName('app@1.service'), null);
  for (const bad of ['', '-x', '../x', 'a/b', '.', 'a\nb']) assert.notEqual(checkUnitName(bad), null, bad);
});
