import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { issueCert } from '@smgr/shared/pki';
import { waitFor } from '@smgr/testing';
import { CONTROLLER_MAIN } from '@smgr/testing/smgr';
import { fleetCli, runCommand } from '@smgr/testing/cli';
import { controllerIdentity, tempPki } from '@smgr/testing/pki';
import { agentlessFleet } from '@smgr/testing/operator-api';
import { waitForDeadLetter } from '@smgr/testing/notify';
import { SmtpReceiver } from '@smgr/testing/receivers';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * E-mail receivers over STARTTLS with AUTH: a real controller and Debian's
 * aiosmtpd on loopback requiring STARTTLS (certificate from a throwaway smgr
 * CA) and AUTH for one user. The alert that travels is cert_expiry of the
 * controller's own certificate (issued to expire in 3 days), so a route
 * carries it without any agent.
 */
const USER = 'smgr-mailer';
const PASSWORD = 'Sm7p-pass-w0rd-XYZ';
const WRONG = 'not-the-Pa55word-QQQ';
const DAY = 86_400_000;

let smtp: SmtpReceiver;

/** Every form of the password a log could leak: as is, and inside AUTH PLAIN / LOGIN base64. */
function secretForms(pw: string): string[] {
  return [
    pw,
    Buffer.from(pw).toString('base64'),
    Buffer.from(`\0${USER}\0${pw}`).toString('base64'),
    Buffer.from(`${USER}\0${USER}\0${pw}`).toString('base64'),
  ];
}

const { fleet } = useFleet(async (files) => {
  const pki = await tempPki(files, 'smtp-tls');
  const other = await tempPki(files, 'smtp-tls-other', { commonName: 'not the mail CA' });
  await issueCert(pki, 'mail', { role: 'controller', sans: ['127.0.0.1', 'localhost'] });
  // The controller's own certificate expires in 3 days: cert_expiry fires at once (cert_warn_days 14).
  await issueCert(pki, 'ctl-mail', { role: 'controller', sans: ['127.0.0.1'], notAfter: new Date(Date.now() + 3 * DAY) });
  smtp = await SmtpReceiver.startTls(files, { cert: join(pki, 'mail.pem'), key: join(pki, 'mail.key'), user: USER, password: PASSWORD });
  const mail = (password: string, ca: string) => ({
    type: 'email',
    smtp_host: '127.0.0.1',
    smtp_port: smtp.port,
    smtp_security: 'starttls',
    smtp_user: USER,
    smtp_password: password,
    smtp_ca: ca,
    from: 'smgr@example.org',
    to: 'ops@example.org',
  });
  return agentlessFleet({
    ...controllerIdentity(pki, 'ctl-mail'),
    notify: { group_wait: 0.5, check_interval: 0.2, retry_backoff: 0.2, max_attempts: 3 },
    'receiver.mail': mail(PASSWORD, join(pki, 'ca.pem')),
    'receiver.badpass': mail(WRONG, join(pki, 'ca.pem')),
    'receiver.otherca': mail(PASSWORD, join(other, 'ca.pem')),
    'route.certs': { receiver: 'mail, badpass', events: 'cert_expiry' },
  });
});

test('STARTTLS + AUTH: the test mail and the cert_expiry alert arrive, authenticated, over TLS', async () => {
  const r = await fleetCli(fleet, ['notify', 'test', 'mail'], 'operator');
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}\n${smtp.tail()}`);
  const alert = await waitFor(() => smtp.mails().find((m) => /cert_expiry/.test(m.headers.subject ?? '')), {
    timeoutMs: 30_000,
    message: 'cert_expiry mail',
    context: () => `${smtp.tail()}\n${fleet.controller.tail()}`,
  });
  // Quoted-printable: soft breaks and =3D undone.
  const body = alert.body.replace(/=\n/g, '').replace(/=3D/g, '=');
  assert.match(body, /tls\.cert \(.*ctl-mail\.pem, CN=ctl-mail\) expires in [23]\.\d days/);
  const test = smtp.mails().find((m) => /\[TEST\] smgr notification test for receiver mail/.test(m.headers.subject ?? ''));
  assert.ok(test, smtp.tail());
  // The server took no mail before AUTH, and AUTH only after STARTTLS (auth_require_tls).
  assert.ok(smtp.lines().some((l) => /^AUTH (PLAIN|LOGIN) accepted$/.test(l)));
});

test('a wrong password is a clear permanent failure: a dead letter naming the refusal; the password is never logged', async () => {
  const dead = await waitForDeadLetter(fleet, 'badpass');
  // 535 is permanent: one attempt, not max_attempts.
  assert.equal(dead.attempts, 1);
  assert.match(dead.error, /SMTP 127\.0\.0\.1:\d+: EAUTH .*535/);
  assert.ok(smtp.lines().some((l) => /^AUTH (PLAIN|LOGIN) refused$/.test(l)));

  const cli = await fleetCli(fleet, ['notify', 'test', 'badpass'], 'operator');
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /badpass \(email\) did not accept the test message: .*EAUTH.*535/);

  const log = fleet.controller.lines().join('\n');
  assert.match(log, /notification not delivered: now a dead letter/);
  for (const pw of [PASSWORD, WRONG]) {
    for (const form of secretForms(pw)) {
      assert.ok(!log.includes(form), `controller log holds a form of a password (${form.slice(0, 4)}…)`);
      assert.ok(!JSON.stringify(dead).includes(form), 'dead letter holds a password');
      assert.ok(!cli.stderr.includes(form) && !cli.stdout.includes(form), 'CLI output holds a password');
    }
  }
  const check = await runCommand(process.execPath, [CONTROLLER_MAIN, '--config', fleet.controllerConfig, '--check-config']);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /smtp_password = \*\*\*/);
  for (const pw of [PASSWORD, WRONG]) assert.ok(!`${check.stdout}${check.stderr}`.includes(pw), '--check-config prints a password');
});

test('a server certificate not signed by smtp_ca is refused before any AUTH', async () => {
  const authsBefore = smtp.lines().filter((l) => l.startsWith('AUTH ')).length;
  const mailsBefore = smtp.mails().length;
  const r = await fleetCli(fleet, ['notify', 'test', 'otherca'], 'operator');
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /otherca \(email\) did not accept the test message: .*(certificate|self[- ]signed|UNABLE_TO_VERIFY)/i);
  assert.equal(smtp.lines().filter((l) => l.startsWith('AUTH ')).length, authsBefore, 'credentials sent to an unverified server');
  assert.equal(smtp.mails().length, mailsBefore);
});
