/**
 * Issue 10, finding 8 on a real systemd host (nspawn, Debian 12), with the
 * packaged agent: where the agent runs as root (a SysV host, a container) a
 * process-strategy service with `user =` runs as that user and cannot read
 * the agent's TLS key; where it runs as its own unprivileged user (the
 * shipped unit), `user =` is refused at start with exit 78 naming the key.
 * Runs with SMGR_FLEET=1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useCleanup, waitFor } from '@smgr/testing';
import { bootPackagedHost } from './support/packaged-host.js';

const AGENT = '/opt/smgr/current/bin/smgr-agent';

const config = (stateDir: string) => `[agent]
; nothing listens here: after autonomy_after the agent repairs its watched services itself
controller = 127.0.0.1:9
host_id = u1
state_dir = ${stateDir}
autonomy_after = 1

[tls]
insecure = true

[process.usersvc]
restart_strategy = process
user = nobody
; the shell runs as nobody: it tries to read the agent's key, then becomes the service
start_command = /bin/sh -c "cat /etc/smgr/agent.key > /tmp/keyread.out 2>&1; exec /opt/svc/usersvc infinity"
watch = true
watch_interval = 1
watch_failures = 1
restart_delay = 0.1
`;

test('a service with user = runs as that user and cannot read the agent key; a non-root agent refuses user = with exit 78', { timeout: 900_000 }, async (t) => {
  const c = useCleanup(t);
  const { host } = await bootPackagedHost(c, { name: 'smgr-puser', label: 'puser', labHost: 'u1' });

  await host.exec(['mkdir', '-p', '/etc/smgr', '/opt/svc']);
  await host.exec(['cp', '/bin/sleep', '/opt/svc/usersvc']);
  // The agent's key: the agent's own (root here), mode 0600.
  await host.exec(['sh', '-c', 'umask 077; echo "-----BEGIN PRIVATE KEY----- not for services" > /etc/smgr/agent.key']);
  await host.exec(['tee', '/etc/smgr/agent-root.ini'], { input: config('/var/lib/smgr-agent-root') });

  // The agent as root, as on a SysV host or in a container (a transient unit only to run it in the background here).
  await host.exec(['systemd-run', '--unit=smgr-agent-root', '--property=Type=exec', AGENT, '--config', '/etc/smgr/agent-root.ini']);
  c.add(() => host.exec(['systemctl', 'stop', 'smgr-agent-root.service'], { allowFailure: true }), 'root agent');

  const pid = await waitFor(
    async () => {
      const r = await host.exec(['pgrep', '-x', 'usersvc'], { allowFailure: true });
      return r.code === 0 ? Number(r.stdout.trim().split('\n')[0]) : null;
    },
    { timeoutMs: 60_000, intervalMs: 500, message: 'the agent started usersvc on its own' },
  ).catch(async (err: Error) => {
    const journal = (await host.exec(['journalctl', '-u', 'smgr-agent-root', '--no-pager', '-n', '40', '--output=cat'], { allowFailure: true })).stdout;
    throw new Error(`${err.message}\n--- root agent's journal ---\n${journal}`);
  });
  const status = (await host.exec(['cat', `/proc/${pid}/status`])).stdout;
  assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, 'runs as nobody');
  assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m, "with nobody's group");
  assert.match(status, /^Groups:\s*$/m, 'and no supplementary groups');
  const keyread = (await host.exec(['cat', '/tmp/keyread.out'])).stdout;
  assert.match(keyread, /Permission denied/, `the service could not read the agent key: ${keyread}`);
  assert.doesNotMatch(keyread, /BEGIN PRIVATE KEY/);
  await host.exec(['systemctl', 'stop', 'smgr-agent-root.service']);
  await host.exec(['kill', '-KILL', String(pid)], { allowFailure: true });

  // The shipped unit's way: the agent as its own unprivileged user cannot switch users, and says so at start.
  await host.exec(['useradd', '--system', 'smgr-agent']);
  await host.exec(['tee', '/etc/smgr/agent-user.ini'], { input: config('/tmp/smgr-agent-user-state') });
  const refused = await host.exec(['runuser', '-u', 'smgr-agent', '--', AGENT, '--config', '/etc/smgr/agent-user.ini'], {
    allowFailure: true,
    timeoutMs: 60_000,
  });
  assert.equal(refused.code, 78, `exit code; stderr: ${refused.stderr}`);
  const lines = refused.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0]!, /^smgr-agent: .*process\.usersvc\.user = "nobody".*not root/);
});
