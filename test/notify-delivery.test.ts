import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { Outcome, type JobRequest } from '@smgr/shared';
import { waitFor } from '@smgr/testing';
import { fleetCli } from '@smgr/testing/cli';
import { agentlessFleet, waitForConnected } from '@smgr/testing/operator-api';
import { waitForDeadLetter } from '@smgr/testing/notify';
import { useFleet } from '@smgr/testing/use-fleet';
import { SimAgents } from '@smgr/testing/sim-agents';
import { SmtpReceiver, WebhookReceiver } from '@smgr/testing/receivers';

/**
 * Notifications end to end: a real controller (MariaDB, Redis, BullMQ),
 * simulated agents on the real gRPC protocol whose repairs fail or succeed
 * as the test says, and real receivers on loopback: an HTTP server checking
 * the webhook signature, and aiosmtpd.
 */
const SECRET = 'hook-secret-123';
const GROUP = 200;

let hooks: WebhookReceiver;
let smtp: SmtpReceiver;
let sims: SimAgents;

/** What the simulated repairs answer: flaky-svc and g-* fail while these are set; dead-svc always fails. */
const failing = { flaky: true, group: true };
/** Group jobs wait here until all GROUP have arrived, so their outcomes are recorded together. */
let barrier: { req: JobRequest; done: (ok: boolean) => void }[] = [];

function result(req: JobRequest, ok: boolean) {
  return {
    jobId: req.jobId,
    outcome: ok ? Outcome.SUCCEEDED : Outcome.FAILED,
    service: req.service,
    operation: req.operation,
    strategy: 'sim',
    message: ok ? 'restarted' : 'start command exited 1',
    attempts: 1,
  };
}

const { fleet } = useFleet(
  async (files) => {
    hooks = await WebhookReceiver.start(files, {
      '/hook': { secret: SECRET },
      '/flaky': { secret: SECRET, failFirst: 3, failStatus: 503 },
      '/refuse': { secret: SECRET, failFirst: 1_000_000, failStatus: 400 },
      '/wrong-secret': { secret: 'not-the-one-smgr-has' },
    });
    smtp = await SmtpReceiver.start(files);
    const hook = (path: string) => ({ type: 'webhook', url: `${hooks.url}${path}`, secret: SECRET });
    return agentlessFleet({
      monitor: { retry_delay: 2, max_restart_failures: 1000, job_timeout: 120 },
      notify: { group_wait: 2, check_interval: 0.2, retry_backoff: 0.2, max_attempts: 6 },
      'receiver.hook': hook('/hook'),
      'receiver.flaky': hook('/flaky'),
      'receiver.refuser': hook('/refuse'),
      'receiver.forged': { ...hook('/wrong-secret') },
      'receiver.chat': { type: 'slack', url: `${hooks.url}/slack` },
      'receiver.mail': {
        type: 'email',
        smtp_host: '127.0.0.1',
        smtp_port: smtp.port,
        smtp_security: 'none',
        from: 'smgr@example.org',
        to: 'ops@example.org, oncall@example.org',
      },
      'route.flaky': { receiver: 'flaky', events: 'repair_failed', services: 'flaky-*' },
      'route.group': { receiver: 'hook, mail, chat', events: 'repair_failed', services: 'g-*' },
      'route.dead': { receiver: 'refuser', events: 'repair_failed', services: 'dead-*' },
    });
  },
  async (fleet, files) => {
    const groupNames = Array.from({ length: GROUP }, (_, i) => `g-${i}`);
    sims = new SimAgents({
      address: fleet.grpcAddress,
      credentials: credentials.createInsecure(),
      hostIds: ['sim1', 'sim2'],
      services: (h) => (h === 'sim1' ? ['flaky-svc', 'dead-svc'] : groupNames),
      onJob: (hostId, req) => {
        if (hostId === 'sim1') return result(req, req.service === 'flaky-svc' ? !failing.flaky : false);
        return new Promise((done) => {
          barrier.push({ req, done: (ok) => done(result(req, ok)) });
          if (barrier.length >= GROUP) {
            const batch = barrier;
            barrier = [];
            for (const b of batch) b.done(!failing.group);
          }
        });
      },
    });
    sims.start();
    files.add(() => sims.stop(), 'sim agents');
    await waitForConnected(fleet, ['sim1', 'sim2']);
    const rows: [number, string][] = [[1, 'flaky-svc@sim1'], [2, 'dead-svc@sim1'], ...groupNames.map((n, i): [number, string] => [100 + i, `${n}@sim2`])];
    await fleet.db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES ?', [rows]);
    await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES ?', [rows.map(([id]) => [id, 0, 0, null])]);
  },
);

test('smgr notify test: a signed webhook, a Slack-style post and a mail reach their receivers; a wrong secret is refused by the receiver', async () => {
  const r = await fleetCli(fleet, ['notify', 'test', 'hook'], 'operator');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /accepted by hook \(webhook\)/);
  const got = hooks.accepted('/hook');
  assert.equal(got.length, 1);
  assert.equal(got[0]!.verified, true);
  assert.equal(got[0]!.body.status, 'test');
  assert.equal(got[0]!.body.receiver, 'hook');

  assert.equal((await fleetCli(fleet, ['notify', 'test', 'chat'], 'operator')).code, 0);
  assert.match(String(hooks.accepted('/slack')[0]?.body.text), /^\[TEST\] smgr notification test for receiver chat/);

  const mail = await fleetCli(fleet, ['notify', 'test', 'mail'], 'operator');
  assert.equal(mail.code, 0, mail.stderr);
  const mails = await waitFor(() => (smtp.mails().length > 0 ? smtp.mails() : null), { timeoutMs: 10_000, message: 'test mail', context: () => smtp.tail() });
  assert.match(mails[0]!.headers.subject ?? '', /\[TEST\] smgr notification test for receiver mail/);
  assert.match(mails[0]!.headers.to ?? '', /ops@example\.org, oncall@example\.org/);

  // The receiver checks the HMAC: a message signed with another secret is refused, and the CLI says so.
  const forged = await fleetCli(fleet, ['notify', 'test', 'forged'], 'operator');
  assert.equal(forged.code, 1);
  assert.match(forged.stderr, /forged \(webhook\) did not accept the test message: .*answered 401/);
  assert.equal(hooks.deliveries.filter((d) => d.path === '/wrong-secret' && !d.verified).length, 1);

  const missing = await fleetCli(fleet, ['notify', 'test', 'nosuch'], 'operator');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no \[receiver\.nosuch\]/);
  // Viewers may not send test messages; the attempt is audited.
  assert.equal((await fleetCli(fleet, ['notify', 'test', 'hook'], 'viewer')).code, 1);
  const audit = await fleet.db.query<{ action: string; outcome: string; target: string }>(
    "SELECT action, outcome, target FROM smgr_audit WHERE action = 'notify.test' ORDER BY id",
  );
  assert.ok(audit.some((a) => a.outcome === 'denied' && a.target === 'receiver:hook'));
  assert.ok(audit.some((a) => a.outcome === 'error' && a.target === 'receiver:forged'));
});

test('a receiver that fails three times and then recovers gets the message exactly once; its resolve follows', async () => {
  await fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 1');
  const firing = await waitFor(() => (hooks.accepted('/flaky').length >= 1 ? hooks.accepted('/flaky') : null), {
    timeoutMs: 60_000,
    message: 'flaky receiver got the firing message',
    context: () => fleet.controller.tail(),
  });
  const attempts = hooks.deliveries.filter((d) => d.path === '/flaky');
  assert.deepEqual(
    attempts.map((d) => d.status),
    [503, 503, 503, 200],
  );
  assert.ok(attempts.every((d) => d.verified));
  assert.ok(
    attempts.every((d) => d.headers['x-smgr-delivery'] === firing[0]!.headers['x-smgr-delivery']),
    'every attempt is the same message',
  );
  assert.equal(firing[0]!.body.status, 'firing');
  assert.equal(firing[0]!.body.event, 'repair_failed');
  assert.equal(firing[0]!.body.alerts[0].service, 'flaky-svc');

  failing.flaky = false;
  const resolved = await waitFor(() => hooks.accepted('/flaky').find((d) => d.body.status === 'resolved'), {
    timeoutMs: 60_000,
    message: 'flaky receiver got the resolve',
    context: () => fleet.controller.tail(),
  });
  assert.equal(resolved.body.alerts[0].service, 'flaky-svc');
  // The repeated failures before the repair were one condition: still one firing message.
  const statuses = hooks.accepted('/flaky').map((d) => d.body.status);
  assert.deepEqual(statuses, ['firing', 'resolved']);
  const metrics = await fleet.api.get('/metrics');
  assert.match(String(metrics.body), /smgr_notify_deliveries_total\{receiver="flaky",outcome="retry"\} 3/);
  assert.match(String(metrics.body), /smgr_notify_deliveries_total\{receiver="flaky",outcome="delivered"\} 2/);
});

test('a receiver that refuses for good leaves a dead letter the API lists and the CLI shows', async () => {
  await fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 2');
  const dead = await waitForDeadLetter(fleet, 'refuser', 60_000);
  // A 400 is not retried: one attempt, then the dead letters.
  assert.equal(dead.attempts, 1);
  assert.match(dead.error, /answered 400/);
  assert.equal(hooks.deliveries.filter((d) => d.path === '/refuse').length, 1);
  const cli = await fleetCli(fleet, ['notify', 'dead-letters'], 'viewer');
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`${dead.id}\\s+refuser\\s+firing`));
});

test('200 failed repairs on one host are one grouped message per receiver, and their repair one resolve', async () => {
  await fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id >= 100');
  const firing = await waitFor(() => hooks.accepted('/hook').find((d) => d.body.status === 'firing'), {
    timeoutMs: 120_000,
    message: 'grouped firing message',
    context: () => fleet.controller.tail(),
  });
  assert.equal(firing.body.count, GROUP);
  assert.equal(firing.body.hostId, 'sim2');
  assert.match(firing.body.title, /^\[FIRING\] repair_failed on sim2: 200 alerts$/);

  failing.group = false;
  const resolved = await waitFor(() => hooks.accepted('/hook').find((d) => d.body.status === 'resolved'), {
    timeoutMs: 120_000,
    message: 'grouped resolve message',
    context: () => fleet.controller.tail(),
  });
  assert.equal(resolved.body.count, GROUP);
  await waitFor(
    async () => (await fleet.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM STATUS_PROCESS WHERE process_id >= 100 AND alarma = 1'))[0]!.n === 0,
    {
      timeoutMs: 60_000,
      message: 'alarms cleared',
    },
  );
  const messages = hooks.accepted('/hook').filter((d) => d.body.status !== 'test');
  assert.deepEqual(
    messages.map((d) => [d.body.status, d.body.count]),
    [
      ['firing', GROUP],
      ['resolved', GROUP],
    ],
  );
  // Each receiver is its own delivery: the Slack resolve may come a little after the webhook's.
  await waitFor(() => hooks.accepted('/slack').length >= 3, { timeoutMs: 20_000, message: 'grouped Slack messages' });
  assert.deepEqual(
    hooks
      .accepted('/slack')
      .slice(1)
      .map((d) => String(d.body.text).split('\n')[0]),
    ['[FIRING] repair_failed on sim2: 200 alerts', '[RESOLVED] repair_failed on sim2: 200 alerts'],
  );
  const mails = await waitFor(() => (smtp.mails().length >= 3 ? smtp.mails() : null), {
    timeoutMs: 20_000,
    message: 'grouped mails',
    context: () => smtp.tail(),
  });
  assert.deepEqual(
    mails.slice(1).map((m) => m.headers.subject),
    ['[FIRING] repair_failed on sim2: 200 alerts', '[RESOLVED] repair_failed on sim2: 200 alerts'],
  );
  assert.match(mails[1]!.body, /and 180 more/);
});
