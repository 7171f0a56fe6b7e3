import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@smgr/shared';
import { resolveRunAs, runAsSpawnOptions } from './run-as.js';

function etc(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'smgr-runas-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = join(dir, 'passwd');
  const group = join(dir, 'group');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1500:1600:App:/srv/app:/usr/sbin/nologin\n');
  writeFileSync(group, 'root:x:0:\napp:x:1600:\nlogs:x:1700:app\n');
  return { passwd, group };
}

const svc = (keys: { user?: string; group?: string }) => ({ name: 'web', user: keys.user, group: keys.group });

test('a service without user and group runs as the agent', (t) => {
  assert.equal(resolveRunAs(svc({}), { agentUid: 1000, files: etc(t) }), undefined);
});

test('user by name takes its uid, primary group and home; group overrides the group', (t) => {
  const files = etc(t);
  assert.deepEqual(resolveRunAs(svc({ user: 'app' }), { agentUid: 0, files }), { uid: 1500, gid: 1600, user: 'app', home: '/srv/app' });
  assert.deepEqual(resolveRunAs(svc({ user: 'app', group: 'logs' }), { agentUid: 0, files }), { uid: 1500, gid: 1700, user: 'app', home: '/srv/app' });
  assert.deepEqual(resolveRunAs(svc({ user: '4242', group: '4343' }), { agentUid: 0, files }), { uid: 4242, gid: 4343, user: '4242', home: '/' });
});

test('the environment of a switched command names its user and home', () => {
  const opts = runAsSpawnOptions({ uid: 1500, gid: 1600, user: 'app', home: '/srv/app' }, { PATH: '/bin', HOME: '/root', USER: 'root' });
  assert.deepEqual(opts, { uid: 1500, gid: 1600, env: { PATH: '/bin', HOME: '/srv/app', USER: 'app', LOGNAME: 'app' } });
});

test('an agent that is not root refuses user and group with a config error naming the key and why', (t) => {
  for (const [keys, key] of [
    [{ user: 'app' }, 'process.web.user'],
    [{ group: 'logs' }, 'process.web.group'],
  ] as const) {
    assert.throws(
      () => resolveRunAs(svc(keys), { agentUid: 1000, source: '/etc/smgr/agent.ini', files: etc(t) }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.exitCode, 78);
        assert.equal(err.details[0]!.key, key);
        assert.equal(err.details[0]!.file, '/etc/smgr/agent.ini');
        assert.match(err.details[0]!.rule, /runs as uid 1000, not root, so it cannot start commands as another user/);
        return true;
      },
    );
  }
});

test('an unknown user or group is a config error naming the key', (t) => {
  const files = etc(t);
  assert.throws(
    () => resolveRunAs(svc({ user: 'nosuch' }), { agentUid: 0, files }),
    (err: unknown) => err instanceof ConfigError && err.details[0]!.key === 'process.web.user' && /no such user/.test(err.details[0]!.rule),
  );
  assert.throws(
    () => resolveRunAs(svc({ user: 'app', group: 'nosuch' }), { agentUid: 0, files }),
    (err: unknown) => err instanceof ConfigError && err.details[0]!.key === 'process.web.group' && /no such group/.test(err.details[0]!.rule),
  );
});
