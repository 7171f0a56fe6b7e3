import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { cliAs, runCli } from '@smgr/testing/cli';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * What the smgr CLI prints and writes when what it reads is hostile (a name a
 * legacy writer or an agent chose) and the umask is careless.
 */
let tmp: TempDir;

const { fleet } = useFleet(async (files) => {
  tmp = await makeTempDir('cli-hostile');
  files.add(() => tmp.remove(), 'temp dir');
  return { hostIds: ['h1'], service: uniqueServiceName('clih') };
});

/** Runs `smgr ARGS` under `umask 000`, with only the environment given. */
const smgr = (args: string[], env: Record<string, string>) => runCli(args, { HOME: tmp.path, ...env }, { umask: '000' });

const HOSTILE = 'web\x1b]0;owned\x07\x1b[2J\x9b31m\u202eexe';
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('hostile strings', () => {
  test('names and messages with terminal control sequences are printed as visible escapes, in tables and messages', async () => {
    await fleet.db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES (66, ?)', [HOSTILE]);
    await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (66, 1, 0, ?)', [`note ${HOSTILE}`]);
    await fleet.db.exec("INSERT INTO smgr_events (at, kind, host_id, service, message) VALUES (NOW(3), 'agent_event', 'h1', 'x', ?)", [`output ${HOSTILE}`]);
    const env = cliAs(fleet, 'viewer');
    for (const args of [['alarms'], ['events', '--limit', '5']]) {
      const r = await smgr(args, env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!CONTROL.test(r.stdout), `smgr ${args.join(' ')} printed control characters: ${JSON.stringify(r.stdout)}`);
      assert.ok(r.stdout.includes('web\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202eexe'), r.stdout);
    }
    const json = await smgr(['alarms', '--json'], env);
    assert.ok(!CONTROL.test(json.stdout), '--json escapes them as JSON does');
    assert.equal(JSON.parse(json.stdout).alarms.find((a: { processId: number }) => a.processId === 66).name, HOSTILE);
  });
});

describe('token files', () => {
  test('token create --output writes a 0600 file under umask 000, also over an existing wider file', async () => {
    const env = cliAs(fleet, 'admin');
    const file = join(tmp.path, 'ci.token');
    const r = await smgr(['token', 'create', 'ci-file', '--role', 'viewer', '--output', file], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'the secret is not printed');
    assert.match(r.stderr, /secret written to .*ci\.token \(mode 0600\)/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const secret = (await readFile(file, 'utf8')).trim();
    assert.match(secret, /^smgr_[A-Za-z0-9_-]{43}$/);
    assert.equal((await fleet.api.as(secret).get('/v1/hosts')).status, 200);

    await chmod(file, 0o644);
    const again = await smgr(['token', 'create', 'ci-file-2', '--role', 'viewer', '--output', file], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'narrowed again');
    assert.notEqual((await readFile(file, 'utf8')).trim(), secret, 'the new secret');
  });
});
