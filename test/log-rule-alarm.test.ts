import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cleanup, makeTempDir, startMariaDb, startRedis, waitFor, type MariaDbInstance, type RedisInstance } from '@smgr/testing';
import { uniqueServiceName, waitForLog } from '@smgr/testing/smgr';
import { fleetService } from '@smgr/testing/operator-api';
import { startStack, type Stack } from '@smgr/testing/stack';
import { WebhookReceiver } from '@smgr/testing/receivers';

/**
 * Log-pattern rules end to end: a real agent follows a service's log file;
 * two matching lines (one before and one after a rotation) raise the
 * service's alarm through the controller, which repairs it; an event-only
 * rule reaches a webhook receiver as a log_pattern notification, its line
 * redacted.
 */
let mysql: MariaDbInstance;
let redis: RedisInstance;
let stack: Stack;
let hooks: WebhookReceiver;
let logFile: string;
let auditLog: string;
const name = uniqueServiceName('logr');
const files = new Cleanup();

before(async () => {
  [mysql, redis] = await Promise.all([startMariaDb(), startRedis()]);
  files.add(() => Promise.allSettled([mysql.stop(), redis.stop()]), 'servers');
  hooks = await WebhookReceiver.start(files, { '/hook': { secret: 's3cret-log' } });
  const dir = await makeTempDir('logrule');
  files.add(() => dir.remove(), 'service dir');
  logFile = join(dir.path, 'app.log');
  auditLog = join(dir.path, 'audit.log');
  await writeFile(logFile, 'FATAL disk full (an old line: not news)\n');
  await writeFile(join(dir.path, 'running'), '');
  stack = await startStack(
    files,
    { mysql, redis },
    {
      services: { [name]: { ...fleetService(dir.path), restart_delay: 0.1 } },
      agentSections: {
        'log_rule.disk': { process: name, 'file[]': logFile, pattern: 'FATAL .*disk full', count: 2, window: 600, on_match: 'alarm', severity: 'critical' },
        'log_rule.login': { process: name, 'file[]': auditLog, pattern: 'login failed', count: 1, on_match: 'event', severity: 'warning', max_line: 100 },
      },
      controller: {
        monitor: { retry_delay: 1 },
        notify: { group_wait: 0, check_interval: 0.2 },
        'receiver.hook': { type: 'webhook', url: `${hooks.url}/hook`, secret: 's3cret-log' },
        'route.logs': { receiver: 'hook', events: 'log_pattern' },
      },
    },
  );
  await stack.addProcess(1, name);
  await waitForLog(stack.agent, 'log rules following their files', 20_000);
});

after(async () => {
  await files.run();
});

test('matching lines on both sides of a rotation raise the alarm, and the controller repairs the service', async () => {
  await appendFile(logFile, 'INFO all good\nFATAL /var disk full\n');
  await rename(logFile, `${logFile}.1`);
  await writeFile(logFile, 'INFO reopened\nFATAL /srv disk full after rotation\n');
  const raised = await waitFor(
    async () => {
      const rows = await stack.db.query<{ outcome: string; message: string; process_id: number }>(
        "SELECT outcome, message, process_id FROM smgr_events WHERE kind = 'agent_event' AND message LIKE '%log rule disk%'",
      );
      return rows[0];
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'log rule event recorded', context: () => stack.agent.tail() },
  );
  assert.equal(raised.outcome, 'failing');
  assert.equal(raised.process_id, 1);
  assert.match(raised.message, /log rule disk: 2 line\(s\) matching in 600 s in .*app\.log: FATAL \/srv disk full after rotation/);
  // The old line that was in the file before the agent started did not count.
  const repaired = await waitFor(
    async () =>
      (await stack.db.query<{ outcome: string }>("SELECT outcome FROM smgr_events WHERE kind = 'repair' AND process_id = 1 AND outcome = 'succeeded'"))[0],
    { timeoutMs: 60_000, intervalMs: 100, message: 'repair after the log alarm', context: () => stack.controller.tail() },
  );
  assert.ok(repaired);
  await stack.waitForAlarm(1, 0);
  const notes = (await stack.status(1)).notes ?? '';
  assert.ok(notes.length > 0);
});

test('an event-only rule raises no alarm and reaches the notification route with its line redacted and clipped', async () => {
  await writeFile(auditLog, `login failed for bob password=hunter2 from 10.0.0.7 ${'z'.repeat(300)}\n`);
  const got = await waitFor(() => hooks.accepted('/hook').find((d) => d.body.event === 'log_pattern'), {
    timeoutMs: 30_000,
    message: 'log_pattern notification',
    context: () => stack.controller.tail(),
  });
  const alert = got.body.alerts[0];
  assert.equal(got.body.severity, 'warning');
  assert.equal(alert.service, name);
  assert.match(alert.message, /log rule login: 1 line\(s\) matching .* login failed for bob password=\*\*\*/);
  assert.doesNotMatch(JSON.stringify(got.body), /hunter2/);
  assert.ok(!/z{150}/.test(alert.message), 'the line is clipped to max_line');
  assert.equal((await stack.status(1)).alarma, 0);
});
