import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { useServers, Cleanup, makeTempDir, type TempDir } from '@smgr/testing';
import { ROOT, uniqueServiceName } from '@smgr/testing/smgr';
import { startFleet, type Fleet } from '@smgr/testing/operator-api';

/**
 * What the smgr CLI prints and writes when what it reads is hostile (a name a
 * legacy writer or an agent chose) and the umask is careless.
 */
const CLI = resolve(ROOT, 'packages/cli/dist/main.js');
let fleet: Fleet;
let tmp: TempDir;
const files = new Cleanup();

/** Runs `smgr ARGS` under `umask 000`, with only the environment given. */
function smgr(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      '/bin/sh',
      ['-c', 'umask 000; exec "$0" "$@"', process.execPath, CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: tmp.path, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

after(async () => {
  await files.run();
});
const servers = useServers();
before(async () => {
  await servers.ready;
  tmp = await makeTempDir('cli-hostile');
  files.add(() => tmp.remove(), 'temp dir');
  fleet = await startFleet(files, servers, { hostIds: ['h1'], service: uniqueServiceName('clih') });
});

const HOSTILE = 'web\x1b]0;owned\x07\x1b[2J\x9b31m\u202eexe';
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('hostile strings', () => {
  test('names and messages with terminal control sequences are printed as visible escapes, in tables and messages', async () => {
    await fleet.db.exec('INSERT INTO PROCESE (process_id, process_name) VALUES (66, ?)', [HOSTILE]);
    await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (66, 1, 0, ?)', [`note ${HOSTILE}`]);
    await fleet.db.exec("INSERT INTO smgr_events (at, kind, host_id, service, message) VALUES (NOW(3), 'agent_event', 'h1', 'x', ?)", [`output ${HOSTILE}`]);
    const env = { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens.viewer };
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
    const env = { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: fleet.tokens.admin };
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
