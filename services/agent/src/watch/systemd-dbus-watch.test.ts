/**
 * SystemdDbusWatch on a real dbus-daemon (a private bus in a temp dir), with
 * a stand-in for systemd's manager on it: it owns org.freedesktop.systemd1,
 * answers Subscribe, LoadUnit and Properties.Get as systemd does, and emits
 * PropertiesChanged for unit objects. The real systemd is in the fleet test
 * (test/fleet/dbus-unit-watch.test.ts).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Message, sessionBus, Variant, type MessageBus } from 'dbus-next';
import { createLogger } from '@smgr/shared';
import { SystemdDbusWatch, type UnitDown } from './systemd-dbus-watch.js';
import type { UnitWatchTarget } from './systemd-units.js';

const dir = mkdtempSync(join(tmpdir(), 'smgr-dbus-'));
const daemons = new Set<ChildProcess>();
after(() => {
  for (const d of daemons) d.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(fn: () => T | null | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A dbus-daemon with the session policy (anyone may own any name) listening on `socket`. */
async function startBus(socket: string): Promise<{ address: string; stop: () => Promise<void> }> {
  const d = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=unix:path=${socket}`], { stdio: 'ignore' });
  daemons.add(d);
  await waitFor(() => existsSync(socket), 'the dbus-daemon socket');
  return {
    address: `unix:path=${socket}`,
    stop: async () => {
      const gone = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      await gone;
      daemons.delete(d);
      rmSync(socket, { force: true });
    },
  };
}

const unitPath = (unit: string) =>
  `/org/freedesktop/systemd1/unit/${unit.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;

/** Owns org.freedesktop.systemd1 on `address` and answers like systemd's manager; `loaded` are the units it has. */
async function fakeSystemd(
  address: string,
  loaded: string[],
): Promise<{ bus: MessageBus; subscribers: number; emit: (unit: string, active: string, sub: string) => void }> {
  const bus = sessionBus({ busAddress: address });
  bus.on('error', () => undefined);
  const state = { bus, subscribers: 0, emit: (unit: string, active: string, sub: string) => emitFrom(bus, unit, active, sub) };
  bus.addMethodHandler((msg: Message) => {
    if (msg.member === 'Subscribe') {
      state.subscribers++;
      bus.send(Message.newMethodReturn(msg, '', []));
    } else if (msg.member === 'LoadUnit') {
      const unit = msg.body[0] as string;
      // As systemd answers a name its unit-name rules refuse.
      // dbus-next's typings say replyTo is a string; the library takes the message (its serial and sender).
      if (unit.includes(' ')) bus.send(Message.newError(msg as unknown as string, 'org.freedesktop.DBus.Error.InvalidArgs', `Unit name ${unit} is not valid.`));
      else bus.send(Message.newMethodReturn(msg, 'o', [unitPath(unit)]));
    } else if (msg.member === 'Get' && msg.body[1] === 'LoadState') {
      const unit = loaded.find((u) => unitPath(u) === msg.path);
      bus.send(Message.newMethodReturn(msg, 'v', [new Variant('s', unit ? 'loaded' : 'not-found')]));
    } else {
      return false;
    }
    return true;
  });
  await bus.requestName('org.freedesktop.systemd1', 0);
  return state;
}

function emitFrom(bus: MessageBus, unit: string, active: string, sub: string, iface = 'org.freedesktop.systemd1.Unit'): void {
  bus.send(
    Message.newSignal(unitPath(unit), 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as', [
      iface,
      { ActiveState: new Variant('s', active), SubState: new Variant('s', sub) },
      [],
    ]),
  );
}

async function logger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = await createLogger({ name: 't', level: 'debug', destination: sink, maxLogSizeBytes: 1 << 20, logFilesToKeep: 1 });
  return { log, lines, msgs: (m: string) => lines.filter((l) => l.msg === m) };
}

const targets: UnitWatchTarget[] = [
  { service: 'web', unit: 'web.service', onlyIfLoaded: false },
  { service: 'api', unit: 'api@1.service', onlyIfLoaded: true },
  { service: 'ghost', unit: 'ghost.service', onlyIfLoaded: true },
  { service: 'odd', unit: 'odd name.service', onlyIfLoaded: false },
];

test('a watched unit going failed, inactive or deactivating is reported at once; other units, states, interfaces and senders are not', async () => {
  const bus = await startBus(join(dir, 'b1'));
  const systemd = await fakeSystemd(bus.address, ['web.service', 'api@1.service']);
  const { log, msgs } = await logger();
  const downs: UnitDown[] = [];
  const w = new SystemdDbusWatch({ targets, onDown: (e) => downs.push(e), log, busAddress: bus.address });
  try {
    w.start();
    await waitFor(() => w.state === 'subscribed', 'subscribed');
    assert.equal(systemd.subscribers, 1, 'Subscribe() called once: systemd sends unit signals only to subscribers');
    assert.deepEqual(w.subscribedUnits().sort(), ['api@1.service', 'web.service'], 'the auto service without a loaded unit is left to polling');
    assert.deepEqual(msgs('watching systemd units over D-Bus (PropertiesChanged)')[0]?.notLoaded, ['ghost.service', 'odd name.service']);
    assert.equal(msgs('systemd refused the unit name; watching it by polling only')[0]?.unit, 'odd name.service', 'one refused name does not stop the others');

    // Another client on the bus cannot pose as systemd.
    const intruder = sessionBus({ busAddress: bus.address });
    intruder.on('error', () => undefined);
    await waitFor(() => (intruder as unknown as { name: string | null }).name, 'intruder connected');
    emitFrom(intruder, 'web.service', 'failed', 'failed');
    systemd.emit('web.service', 'active', 'running');
    systemd.emit('ghost.service', 'failed', 'failed');
    emitFrom(systemd.bus, 'web.service', 'failed', 'failed', 'org.freedesktop.systemd1.Service');
    systemd.emit('web.service', 'bogus', 'x');
    systemd.emit('api@1.service', 'deactivating', 'stop-sigterm');
    systemd.emit('web.service', 'failed', 'failed');
    await waitFor(() => downs.length >= 2, 'two reports');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      downs.map((d) => [d.service, d.unit, d.activeState, d.subState, d.settled]),
      [
        ['api', 'api@1.service', 'deactivating', 'stop-sigterm', false],
        ['web', 'web.service', 'failed', 'failed', true],
      ],
    );
    intruder.disconnect();
  } finally {
    w.stop();
    systemd.bus.disconnect();
    await bus.stop();
  }
});

test('with no bus it warns once and polls; it subscribes when the bus comes, and again after the bus restarts', async () => {
  const socket = join(dir, 'b2');
  const { log, msgs } = await logger();
  const downs: UnitDown[] = [];
  const w = new SystemdDbusWatch({
    targets: targets.slice(0, 1),
    onDown: (e) => downs.push(e),
    log,
    busAddress: `unix:path=${socket}`,
    reconnectMaxDelayMs: 600,
  });
  let bus: Awaited<ReturnType<typeof startBus>> | undefined;
  let systemd: Awaited<ReturnType<typeof fakeSystemd>> | undefined;
  try {
    w.start();
    const warned = await waitFor(
      () => msgs('systemd units cannot be followed over D-Bus; watching them by polling every watch_interval (retrying D-Bus in the background)')[0],
      'the fallback warning',
    );
    assert.equal(warned.level, 40);
    assert.match(String(warned.err), /ENOENT/);
    await waitFor(() => msgs('D-Bus still unavailable').length >= 2, 'retries');
    assert.equal(
      msgs('systemd units cannot be followed over D-Bus; watching them by polling every watch_interval (retrying D-Bus in the background)').length,
      1,
      'warned once, not per retry',
    );
    assert.notEqual(w.state, 'subscribed');

    bus = await startBus(socket);
    systemd = await fakeSystemd(bus.address, ['web.service']);
    await waitFor(() => w.state === 'subscribed', 'subscribed once the bus is there');
    systemd.emit('web.service', 'inactive', 'dead');
    await waitFor(() => downs.length === 1, 'the report');

    systemd.bus.disconnect();
    await bus.stop();
    await waitFor(() => msgs('lost the D-Bus connection to systemd; watching units by polling until it is back').length === 1, 'the loss noticed');
    bus = await startBus(socket);
    systemd = await fakeSystemd(bus.address, ['web.service']);
    await waitFor(() => w.state === 'subscribed', 'subscribed again after the restart');
    systemd.emit('web.service', 'failed', 'failed');
    await waitFor(() => downs.length === 2, 'reports flow again');
    assert.deepEqual(
      downs.map((d) => d.activeState),
      ['inactive', 'failed'],
    );
  } finally {
    w.stop();
    systemd?.bus.disconnect();
    await bus?.stop();
  }
  assert.equal(w.state, 'stopped');
});
