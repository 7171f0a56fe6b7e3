import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { formatEffectiveSettings } from './effective-settings.js';
import { loadConfig, loadConfigReport } from './load-config.js';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-named-'));
  try {
    const file = join(dir, 'c.ini');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const details = (file: string): string[] => {
  try {
    loadConfig({ file });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.details.map((d) => `${d.line ?? '-'} ${d.key}: ${d.rule}${d.value === undefined ? '' : ` [${String(d.value)}]`}`);
  }
  return [];
};

const GOOD = `[tls]
insecure = true
[notify]
group_wait = 5
[receiver.hook]
type = webhook
url = https://hooks.example.org/smgr/T0/secret-path
secret = hmac-key
[receiver.mail]
type = email
smtp_host = smtp.example.org
smtp_password = mail-pass
from = a@example.org
to = b@example.org, c@example.org
[route.prod]
receiver = hook, mail
events = repair_failed, breaker_open
services = web-*, nginx
labels = env=prod
min_severity = warning
[process.web]
action[] = clear-cache: /usr/bin/app-ctl cache clear %s
action[] = warm: sh -c 'curl -fsS http://127.0.0.1/warm; echo done'
[log_rule.errors]
process = web
file[] = /var/log/web/error.log
pattern = ERROR .*timeout
count = 5
window = 60
on_match = alarm
`;

test('receivers, routes, log rules and actions load typed', () => {
  withFile(GOOD, (file) => {
    const c = loadConfig({ file });
    assert.equal(c.notify.groupWaitMs, 5000);
    assert.deepEqual(
      c.receivers.map((r) => [r.name, r.type]),
      [
        ['hook', 'webhook'],
        ['mail', 'email'],
      ],
    );
    assert.deepEqual(c.receivers[1]!.to, ['b@example.org', 'c@example.org']);
    assert.equal(c.receivers[1]!.smtp.security, 'starttls');
    assert.deepEqual(c.routes[0]!.events, ['repair_failed', 'breaker_open']);
    assert.deepEqual(c.routes[0]!.services, ['web-*', 'nginx']);
    assert.deepEqual(c.routes[0]!.labels, { env: 'prod' });
    const web = c.processes.find((p) => p.name === 'web')!;
    assert.deepEqual(
      web.actions.map((a) => [a.name, a.command]),
      [
        ['clear-cache', ['/usr/bin/app-ctl', 'cache', 'clear', '%s']],
        ['warm', ['sh', '-c', 'curl -fsS http://127.0.0.1/warm; echo done']],
      ],
    );
    assert.deepEqual(
      c.logRules.map((r) => [r.name, r.process, r.count, r.windowMs, r.onMatch]),
      [['errors', 'web', 5, 60_000, 'alarm']],
    );
  });
});

test('--check-config shows the controller its receivers and routes, the agent its log rules, secrets and webhook paths masked', () => {
  withFile(GOOD, (file) => {
    const r = loadConfigReport({ file });
    const ctl = formatEffectiveSettings(r.sections, 'controller');
    assert.match(ctl, /\[receiver\.hook\]\ntype = webhook\nurl = https:\/\/hooks\.example\.org\/\*\*\*\nsecret = \*\*\*/);
    assert.match(ctl, /smtp_password = \*\*\*/);
    assert.match(ctl, /\[route\.prod\]/);
    assert.doesNotMatch(ctl, /hmac-key|mail-pass|secret-path|log_rule/);
    const agent = formatEffectiveSettings(r.sections, 'agent');
    assert.match(agent, /\[log_rule\.errors\]/);
    assert.match(agent, /action\[\] = clear-cache: \/usr\/bin\/app-ctl cache clear %s/);
    assert.doesNotMatch(agent, /\[receiver|\[route|\[notify\]/);
  });
});

test('every rule broken is one detail naming its line and key, and no secret is echoed', () => {
  const bad = `[tls]
insecure = true
[receiver.hook]
type = webhook
url = http://hooks.example.org/x
[receiver.mail]
type = email
smtp_host = smtp.example.org
smtp_security = none
smtp_password = do-not-print
[receiver]
type = slack
[route.r]
receiver = hook, nope
events = repair_failed, disk_on_fire
[process.web]
action[] = no colon here
action[] = x: echo $(reboot)
[log_rule.l]
process = nobody
file[] = relative.log
pattern = (a)\\1
on_match = reboot
`;
  withFile(bad, (file) => {
    const d = details(file);
    const has = (re: RegExp) =>
      assert.ok(
        d.some((x) => re.test(x)),
        `${re} in\n${d.join('\n')}`,
      );
    has(/^5 receiver\.hook\.url: http:\/\/ to a host that is not loopback/);
    has(/^3 receiver\.hook\.secret: is required for type = webhook/);
    has(/^6 receiver\.mail\.from: is required for type = email/);
    has(/^9 receiver\.mail\.smtp_security: none to a host that is not loopback/);
    has(/^11 receiver: \[receiver\] needs a name: write \[receiver\.NAME\]/);
    has(/^14 route\.r\.receiver: names no \[receiver\.nope\] section/);
    has(/^15 route\.r\.events: unknown event disk_on_fire/);
    has(/^17 process\.web\.action: must be written action\[\] = NAME: command/);
    has(/process\.web\.action: .*\$\(/);
    has(/^20 log_rule\.l\.process: names no \[process\.nobody\] section/);
    has(/^21 log_rule\.l\.file: must be an absolute path/);
    has(/^22 log_rule\.l\.pattern: is not a valid RE2 expression/);
    has(/log_rule\.l\.on_match/);
    assert.ok(!d.join('\n').includes('do-not-print'));
  });
});

test('an smtp_ca that cannot be read is a file problem of --check-config, naming the receiver', async () => {
  const { checkConfigFiles } = await import('./config-file-checks.js');
  withFile(
    `[tls]\ninsecure = true\n[receiver.mail]\ntype = email\nsmtp_host = smtp.example.org\nsmtp_ca = /nonexistent/ca.pem\nfrom = a@example.org\nto = b@example.org\n`,
    (file) => {
      const problems = checkConfigFiles(loadConfigReport({ file }).sections, 'controller');
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.key, 'receiver.mail.smtp_ca');
      assert.equal(problems[0]!.line, 6);
      assert.match(problems[0]!.rule, /no such file/);
      assert.deepEqual(checkConfigFiles(loadConfigReport({ file }).sections, 'agent'), []);
    },
  );
});
