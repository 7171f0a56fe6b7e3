/**
 * Issue 12 on a real systemd host (nspawn, Debian 12), with the packaged
 * agent under its shipped unit (its own unprivileged user, the polkit rule
 * written by the smgr_agent_polkit role) and a controller in the same host
 * (on the test's throwaway MariaDB and Redis, through their sockets):
 *
 * - a watched unit (Restart=no) whose main process is SIGKILLed is found
 *   through systemd's D-Bus PropertiesChanged signal, not a watch round (the
 *   agent's log and the watch report name D-Bus as the source; the round is
 *   an hour away), repaired with `systemctl restart`, and its alarm cleared;
 * - with the subscription refused (a bus policy denies the agent's
 *   Subscribe), the agent says it falls back to polling, and the same kill
 *   is found by a watch round and repaired the same way. (A bogus
 *   DBUS_SYSTEM_BUS_ADDRESS would take systemctl's bus away too: the unit
 *   test on a private bus covers an absent bus.)
 *
 * Runs with SMGR_FLEET=1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useCleanup, waitFor } from '@smgr/testing';
import { AGENT_UNIT, agentIni, agentLog, startUnitWatchHost, SVC, UNIT } from './support/unit-watch-host.js';

test('a SIGKILLed systemd unit is detected through D-Bus and repaired; with its subscription refused it is found by polling', {
  timeout: 900_000,
}, async (t) => {
  const c = useCleanup(t);
  // A watch round once an hour, watch_failures = 3: only an event finds a failure quickly.
  const { host, db, mainPid } = await startUnitWatchHost(c, { name: 'smgr-dbusw', watchInterval: 3600 });

  let seen: Record<string, unknown>[] = [];
  const logged = (msg: string, pred: (j: Record<string, unknown>) => boolean = () => true, after = 0) =>
    waitFor(
      async () => {
        seen = await agentLog(host);
        return seen.slice(after).find((j) => j.msg === msg && pred(j)) ?? null;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: `agent log "${msg}"`,
        context: () =>
          seen
            .slice(-30)
            .map((j) => JSON.stringify(j))
            .join('\n'),
      },
    );
  const subscribed = await logged('watching systemd units over D-Bus (PropertiesChanged)');
  assert.deepEqual(subscribed.units, [UNIT], 'the unprivileged agent subscribed to its unit');
  await logged('connected to controller');

  const killAndRepair = async (detectedBy: 'dbus' | 'poll') => {
    const before = await mainPid();
    assert.ok(before > 0, `${UNIT} runs`);
    const mark = (await agentLog(host)).length;
    await host.exec(['kill', '-KILL', String(before)]);
    const failing = await logged('watched service failing', (j) => j.service === SVC, mark);
    assert.equal(failing.detectedBy, detectedBy, JSON.stringify(failing));
    let last = '';
    const repaired = await waitFor(
      async () => {
        const [s] = await db.query<{ alarma: number; notes: string | null }>('SELECT alarma, notes FROM STATUS_PROCESS WHERE process_id = 1');
        const pid = await mainPid();
        const active = (await host.systemctl('show', '--property=ActiveState', '--value', UNIT)).trim();
        const events = await db.query<{ kind: string; outcome: string | null; message: string }>('SELECT kind, outcome, message FROM smgr_events ORDER BY id');
        seen = await agentLog(host);
        last = `alarma=${s?.alarma} notes=${s?.notes} pid=${pid} (before ${before}) ${active}\nevents:\n${events.map((e) => `${e.kind} ${e.outcome} ${e.message}`).join('\n')}`;
        return Number(s?.alarma) === 0 &&
          /restarted by service strategy|systemd restart/.test(s?.notes ?? '') &&
          active === 'active' &&
          pid > 0 &&
          pid !== before
          ? { s, pid }
          : null;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 1_000,
        message: `${UNIT} repaired and its alarm cleared (${detectedBy})`,
        context: () =>
          `${last}\nagent log:\n${seen
            .slice(-40)
            .map((j) => JSON.stringify(j))
            .join('\n')}`,
      },
    );
    return { failing, repaired };
  };

  const viaDbus = await killAndRepair('dbus');
  assert.match(String(viaDbus.failing.detail), new RegExp(`^systemd reported ${UNIT.replace('.', '\\.')} failed/failed over D-Bus$`));
  assert.equal(viaDbus.failing.failures, 1, 'reported on its first failed check: systemd said the unit failed');
  const [report] = await db.query<{ message: string }>(
    "SELECT message FROM smgr_events WHERE kind = 'agent_event' AND process_id = 1 ORDER BY id DESC LIMIT 1",
  );
  assert.match(report?.message ?? '', /over D-Bus/, 'the watch report says how the failure was found');

  // The bus refuses the agent's Subscribe (a site policy; systemctl restart still works): polling, said once, does the same job.
  await host.exec(['tee', '/etc/dbus-1/system.d/90-smgr-test-no-subscribe.conf'], {
    input:
      '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n' +
      '<busconfig><policy user="smgr-agent"><deny send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="Subscribe"/></policy></busconfig>\n',
  });
  await host.systemctl('reload', 'dbus.service');
  await host.exec(['tee', '/etc/smgr/agent.ini'], { input: agentIni(1) });
  const mark = (await agentLog(host)).length;
  await host.systemctl('restart', AGENT_UNIT);
  const fallback = await logged(
    'systemd units cannot be followed over D-Bus; watching them by polling every watch_interval (retrying D-Bus in the background)',
    () => true,
    mark,
  );
  assert.match(String(fallback.err), /Subscribe|AccessDenied|rejected/i, String(fallback.err));
  await logged('watching services', () => true, mark);
  const viaPoll = await killAndRepair('poll');
  assert.equal(viaPoll.failing.failures, 3, 'found by three failed watch rounds');
});
