/**
 * Type=notify as systemd sees it, without systemd: a real notify socket, the
 * real systemd-notify, and the real agent daemon (both daemons share
 * runDaemon, where the notifications are sent). The SIGSTOP → watchdog →
 * restart path under a real systemd is in test/fleet/fleet.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createSdNotifier } from '@smgr/shared';
import { freePort, makeTempDir, ManagedProcess, useCleanup } from '@smgr/testing';
import { AGENT_MAIN, ini, writeConfig } from '@smgr/testing/smgr';
import { HAVE_SYSTEMD_NOTIFY, startNotifySocket } from '@smgr/testing/notify-socket';

const skip = HAVE_SYSTEMD_NOTIFY ? false : 'systemd-notify is not installed';

test('READY=1, watchdog pings at half WATCHDOG_USEC and STOPPING=1 reach a real notify socket', { skip }, async (t) => {
  const cleanup = useCleanup(t);
  const socket = await startNotifySocket(cleanup);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000', WATCHDOG_PID: String(process.pid) };
  const n = createSdNotifier({ env });
  cleanup.add(() => n.close(), 'notifier');
  assert.equal(n.watchdogIntervalMs, 200);
  assert.deepEqual(Object.keys(env), ['PATH'], 'NOTIFY_SOCKET and the watchdog variables are not passed on to children');

  n.ready('serving');
  const got = await socket.waitFor((m) => m.filter((x) => x === 'WATCHDOG=1').length >= 2, 'two watchdog pings');
  assert.deepEqual(got.slice(0, 2), ['READY=1', 'STATUS=serving']);
  await n.stopping();
  const stopped = await socket.waitFor((m) => m.includes('STOPPING=1'), 'STOPPING=1');
  // Pings run every 200 ms: a second and a half without one shows they ended with STOPPING=1.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(socket.messages(), stopped, 'nothing is sent after STOPPING=1');
});

test('the agent daemon reports READY=1 once started, pings the watchdog and reports STOPPING=1 on SIGTERM', { skip }, async (t) => {
  const cleanup = useCleanup(t);
  const socket = await startNotifySocket(cleanup);
  const dir = await makeTempDir('notify-agent');
  cleanup.add(() => dir.remove(), 'agent dir');
  const config = await writeConfig(
    dir.path,
    'agent.ini',
    ini({
      // Nothing listens there: READY means "serving", not "connected" (a controller may be down at boot).
      agent: { controller: `127.0.0.1:${await freePort()}`, host_id: 'notify-host', state_dir: join(dir.path, 'state') },
      tls: { insecure: true },
    }),
  );
  const agent = ManagedProcess.start(process.execPath, [AGENT_MAIN, '--config', config], {
    name: 'agent-notify',
    // WATCHDOG_PID is left out: systemd sets it only when it is not the main PID anyway.
    env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '1000000' },
  });
  cleanup.add(() => agent.stop(), 'agent');
  await socket.waitFor((m) => m.includes('READY=1'), 'READY=1 from the agent');
  await socket.waitFor((m) => m.filter((x) => x === 'WATCHDOG=1').length >= 2, 'watchdog pings from the agent');
  assert.equal(socket.messages()[0], 'READY=1', 'nothing before READY=1');

  process.kill(agent.pid!, 'SIGTERM');
  const status = await agent.exited;
  assert.equal(status.code, 0, agent.tail());
  await socket.waitFor((m) => m.includes('STOPPING=1'), 'STOPPING=1 from the agent');
});
