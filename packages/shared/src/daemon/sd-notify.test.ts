import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSdNotifier, watchdogInterval } from './sd-notify.js';

// With a real notify socket and systemd-notify: test/systemd-notify.test.ts.

test('without NOTIFY_SOCKET the notifier does nothing and runs no command', async () => {
  const env: NodeJS.ProcessEnv = { WATCHDOG_USEC: '1000000', PATH: process.env.PATH };
  const n = createSdNotifier({ env, command: '/nonexistent/systemd-notify-must-not-run' });
  assert.equal(n.enabled, false);
  assert.equal(n.watchdogIntervalMs, undefined);
  n.ready();
  await n.stopping();
  n.close();
  assert.equal(env.WATCHDOG_USEC, undefined, 'the watchdog variable is not passed on to children either');
});

test('the watchdog interval is half of WATCHDOG_USEC, and only for the PID systemd named', () => {
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000' }, 42), 2_000);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '42' }, 42), 2_000);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '43' }, 42), undefined);
  assert.equal(watchdogInterval({}, 42), undefined);
  assert.equal(watchdogInterval({ WATCHDOG_USEC: 'x' }, 42), undefined);
});

test('a notify socket without systemd-notify logs one clear error and does not throw', async () => {
  const errors: unknown[] = [];
  const log = { error: (o: unknown, m?: string) => errors.push([o, m]), warn: () => undefined, debug: () => undefined };
  const n = createSdNotifier({
    env: { NOTIFY_SOCKET: '/run/nonexistent.sock', WATCHDOG_USEC: '100000' },
    command: '/nonexistent/systemd-notify',
    log: log as never,
  });
  n.ready();
  await new Promise((r) => setTimeout(r, 300));
  await n.stopping();
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(String((errors[0] as unknown[])[1]), /systemd-notify not found.*Type=exec/);
});
