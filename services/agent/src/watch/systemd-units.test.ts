import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProcessConfig } from '@smgr/shared';
import { parseUnitStateChange, systemdUnitName, unitWatchTargets } from './systemd-units.js';

const svc = (name: string, more: Partial<ProcessConfig>) =>
  ({ name, watch: true, restartStrategy: 'service', serviceManager: 'auto', serviceName: name, ...more }) as ProcessConfig;
const v = (value: unknown, signature = 's') => ({ signature, value });

test('unit names get .service unless they already name a unit type', () => {
  assert.equal(systemdUnitName('nginx'), 'nginx.service');
  assert.equal(systemdUnitName('php-fpm7.4'), 'php-fpm7.4.service');
  assert.equal(systemdUnitName('getty@tty1.service'), 'getty@tty1.service');
  assert.equal(systemdUnitName('docker.socket'), 'docker.socket');
  assert.equal(systemdUnitName('.service'), '.service.service');
});

test('only watched service/auto services under systemd are followed, auto ones only when their unit is loaded', () => {
  const services = [
    svc('web', {}),
    svc('app', { restartStrategy: 'auto', serviceName: 'app-main' }),
    svc('proc', { restartStrategy: 'process' }),
    svc('quiet', { watch: false }),
    svc('old', { serviceManager: 'sysv' }),
    svc('forced', { serviceManager: 'systemd' }),
    svc('bad', { serviceName: '-bad' }),
  ];
  assert.deepEqual(
    unitWatchTargets(services, () => 'systemd'),
    [
      { service: 'web', unit: 'web.service', onlyIfLoaded: false },
      { service: 'app', unit: 'app-main.service', onlyIfLoaded: true },
      { service: 'forced', unit: 'forced.service', onlyIfLoaded: false },
    ],
  );
  assert.deepEqual(
    unitWatchTargets(services, () => 'sysv').map((t) => t.service),
    ['forced'],
    'service_manager = auto on a host without systemd: nothing but an explicit systemd service',
  );
});

test('PropertiesChanged bodies: the Unit interface with a known ActiveState, anything else ignored', () => {
  assert.deepEqual(parseUnitStateChange(['org.freedesktop.systemd1.Unit', { ActiveState: v('failed'), SubState: v('failed') }, []]), {
    activeState: 'failed',
    subState: 'failed',
    down: true,
    settled: true,
  });
  assert.deepEqual(parseUnitStateChange(['org.freedesktop.systemd1.Unit', { ActiveState: v('deactivating'), SubState: v('stop-sigterm') }, []]), {
    activeState: 'deactivating',
    subState: 'stop-sigterm',
    down: true,
    settled: false,
  });
  assert.equal(parseUnitStateChange(['org.freedesktop.systemd1.Unit', { ActiveState: v('active'), SubState: v('running') }, []])?.down, false);
  assert.equal(
    parseUnitStateChange(['org.freedesktop.systemd1.Unit', { ActiveState: v('inactive'), SubState: v('dead\u001b[31m') }, []])?.subState,
    '',
    'an odd SubState is dropped, not logged',
  );
  for (const body of [
    ['org.freedesktop.systemd1.Service', { ActiveState: v('failed') }, []],
    ['org.freedesktop.systemd1.Unit', { SubState: v('failed') }, []],
    ['org.freedesktop.systemd1.Unit', { ActiveState: v('exploded') }, []],
    ['org.freedesktop.systemd1.Unit', { ActiveState: v(3, 'u') }, []],
    ['org.freedesktop.systemd1.Unit', null, []],
    'org.freedesktop.systemd1.Unit',
    null,
  ]) {
    assert.equal(parseUnitStateChange(body), null, JSON.stringify(body));
  }
});
