import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createSdNotifier, watchdogInterval } from './sd-notify.js';

/**
 * A real notify socket: a UNIX datagram socket (as PID 1 has) bound by a small
 * python3 receiver, which prints each datagram as a JSON string line. Reading
 * without ancillary data closes the barrier fd systemd-notify passes, which
 * is how the manager acknowledges a message.
 */
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

interface Receiver {
  path: string;
  messages: string[];
  waitFor(pred: (m: string[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  stop(): void;
}

async function startReceiver(): Promise<Receiver> {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-sdnotify-'));
  const path = join(dir, 'notify.sock');
  const child: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let bound!: () => void;
  const ready = new Promise<void>((r) => (bound = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const text = JSON.parse(line) as string;
    if (text === 'bound') bound();
    else messages.push(...text.split('\n').filter((l) => l !== '' && l !== 'BARRIER=1'));
  });
  await Promise.race([
    ready,
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`python3 receiver exited ${code}`)))),
  ]);
  return {
    path,
    messages,
    async waitFor(pred, what, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(messages)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop() {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const haveSystemdNotify = ['/usr/bin/systemd-notify', '/bin/systemd-notify'].some((p) => existsSync(p));

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

test(
  'READY=1, watchdog pings at half the interval and STOPPING=1 reach a real notify socket through systemd-notify',
  { skip: haveSystemdNotify ? false : 'systemd-notify is not installed' },
  async (t) => {
    const receiver = await startReceiver();
    t.after(() => receiver.stop());
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NOTIFY_SOCKET: receiver.path,
      WATCHDOG_USEC: '400000',
      WATCHDOG_PID: String(process.pid),
    };
    const n = createSdNotifier({ env });
    t.after(() => n.close());
    assert.equal(n.enabled, true);
    assert.equal(n.watchdogIntervalMs, 200);
    assert.deepEqual(Object.keys(env), ['PATH'], 'NOTIFY_SOCKET and the watchdog variables are removed for children');

    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(receiver.messages, [], 'nothing is sent before ready()');
    n.ready('serving');
    await receiver.waitFor((m) => m.filter((x) => x === 'WATCHDOG=1').length >= 2, 'two watchdog pings');
    assert.deepEqual(receiver.messages.slice(0, 2), ['READY=1', 'STATUS=serving']);

    await n.stopping();
    await receiver.waitFor((m) => m.includes('STOPPING=1'), 'STOPPING=1');
    const count = receiver.messages.length;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(receiver.messages.length, count, `no ping after STOPPING=1: ${JSON.stringify(receiver.messages.slice(count))}`);
    assert.equal(receiver.messages.at(-1), 'STOPPING=1');
  },
);

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
