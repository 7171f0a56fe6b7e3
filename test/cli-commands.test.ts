import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from '@smgr/testing';
import { uniqueServiceName } from '@smgr/testing/smgr';
import { cliAs, runCli } from '@smgr/testing/cli';
import { useFleet } from '@smgr/testing/use-fleet';

/** The smgr CLI (compiled) against a real controller and agents. */
let tmp: TempDir;
const service = uniqueServiceName('cli');

const { fleet } = useFleet(
  async (files) => {
    tmp = await makeTempDir('cli');
    files.add(() => tmp.remove(), 'cli temp dir');
    return { hostIds: ['c1', 'c2'], service, labels: (h) => `zone=${h === 'c1' ? 'east' : 'west'}` };
  },
  async (fleet) => {
    await fleet.db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (1, 'alpha'), (2, 'beta')");
    await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (1, 0, 0, NULL), (2, 0, 0, NULL)');
  },
);

/** Runs `smgr ARGS` with only the environment given (no HOME config file, no inherited SMGR_CLI_*). */
const smgr = (args: string[], env: Record<string, string> = {}) => runCli(args, { HOME: tmp.path, ...env });
const asAdmin = () => cliAs(fleet, 'admin');
const asOperator = () => cliAs(fleet, 'operator');

describe('smgr reads', () => {
  test('status, hosts and alarms print text, and --json prints the API answer', async () => {
    const status = await smgr(['status'], asAdmin());
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /hosts: +2 of 2 connected/);
    assert.match(status.stdout, /alarms: +0 in alarm/);

    const hosts = await smgr(['hosts', '--label', 'zone=west'], asAdmin());
    assert.equal(hosts.code, 0, hosts.stderr);
    assert.match(hosts.stdout, /^HOST +STATE +LAST SEEN/);
    assert.match(hosts.stdout, /^c2 +connected +now .*zone=west +\S+$/m);
    assert.doesNotMatch(hosts.stdout, /^c1 /m);

    for (const args of [
      ['--json', 'hosts'],
      ['hosts', '--json'],
    ]) {
      const json = await smgr(args, asAdmin());
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(
        JSON.parse(json.stdout).hosts.map((h: any) => h.hostId),
        ['c1', 'c2'],
      );
    }
    const every = await smgr(['alarms', '--all', '--json'], asAdmin());
    assert.deepEqual(
      JSON.parse(every.stdout).processes.map((p: any) => [p.processId, p.name, p.alarma]),
      [
        [1, 'alpha', 0],
        [2, 'beta', 0],
      ],
    );
  });

  test('alarm raise and clear change STATUS_PROCESS, by id, name or --all', async () => {
    const raise = await smgr(['alarm', 'raise', 'beta'], asOperator());
    assert.equal(raise.code, 0, raise.stderr);
    assert.match(raise.stdout, /raised 1 alarm\(s\): 2 \(beta\)/);
    const listed = await smgr(['alarms'], asOperator());
    assert.match(listed.stdout, /^2 +beta +ALARM/m);
    const clear = await smgr(['alarm', 'clear', '--all'], asOperator());
    assert.equal(clear.code, 0);
    const rows = await fleet.db.query<{ alarma: number }>('SELECT alarma FROM STATUS_PROCESS ORDER BY process_id');
    assert.deepEqual(
      rows.map((r) => r.alarma),
      [0, 0],
    );
    const bad = await smgr(['alarm', 'raise', '7', 'beta'], asOperator());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ids or names, not a mix/);
    const missing = await smgr(['alarm', 'raise', '99'], asOperator());
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no process with id 99/);
  });
});

describe('smgr operations and rollouts', () => {
  test('stop, status and start on selected hosts exit 0 when every host succeeds and 1 when one does not', async () => {
    const stop = await smgr(['stop', service, '--host', 'c2'], asOperator());
    assert.equal(stop.code, 0, stop.stderr + stop.stdout);
    assert.match(stop.stdout, /^c2 +succeeded/m);
    const status = await smgr(['status', service], asOperator());
    assert.equal(status.code, 1);
    assert.match(status.stdout, /status .* on 2 host\(s\): 1 succeeded, 1 failed/);
    assert.match(status.stdout, /^c2 +failed +1\.0 +down/m);
    const start = await smgr(['start', service, '-l', 'zone=west'], asOperator());
    assert.equal(start.code, 0, start.stdout);
    assert.equal((await smgr(['status', service], asOperator())).code, 0);
  });

  test('rollout start --wait follows the rollout to the end; status and list show it; a viewer cannot start one', async () => {
    const started = await smgr(
      ['rollout', 'start', service, '2.0', '--batch-size', '50%', '--min-healthy', '0.2', '--probe-interval', '0.1', '--wait'],
      asOperator(),
    );
    assert.equal(started.code, 0, started.stderr + started.stdout);
    assert.match(started.stdout, /rollout (\d+): \S+ -> 2\.0 +SUCCEEDED/);
    const id = /rollout (\d+):/.exec(started.stdout)![1]!;
    for (const h of ['c1', 'c2']) assert.equal(await fleet.installed(h), '2.0');

    const status = await smgr(['rollout', 'status', id, '--json'], asOperator());
    assert.equal(JSON.parse(status.stdout).state, 'succeeded');
    const list = await smgr(['rollout', 'list'], asOperator());
    assert.match(list.stdout, new RegExp(`^${id} +${service} +2\\.0 +succeeded +2/2 healthy +t-operator`, 'm'));

    const viewer = await smgr(['rollout', 'start', service, '3.0'], cliAs(fleet, 'viewer'));
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /not allowed: token t-viewer has role viewer; rollout\.start needs operator or higher/);

    const invalid = await smgr(['rollout', 'start', service, '3.0', '--batch-size', '0%'], asOperator());
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /--batch-size.*must be a count or a percentage/);
    const unknownHost = await smgr(['rollout', 'start', service, '3.0', '--host', 'nope'], asOperator());
    assert.equal(unknownHost.code, 1);
    assert.match(unknownHost.stderr, /unknown host\(s\): nope/);
  });

  test('token create prints the secret once on stdout, list shows it, revoke stops it; an operator cannot manage tokens', async () => {
    const created = await smgr(['token', 'create', 'pipeline', '--role', 'operator'], asAdmin());
    assert.equal(created.code, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^smgr_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /shown only once/);
    const asPipeline = { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN: secret };
    assert.equal((await smgr(['hosts'], asPipeline)).code, 0);
    const list = await smgr(['token', 'list'], asAdmin());
    assert.match(list.stdout, /^pipeline +operator +active/m);
    assert.ok(!list.stdout.includes(secret));
    const denied = await smgr(['token', 'create', 'x', '--role', 'admin'], asOperator());
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /needs admin/);
    assert.equal((await smgr(['token', 'revoke', 'pipeline'], asAdmin())).code, 0);
    const refused = await smgr(['hosts'], asPipeline);
    assert.equal(refused.code, 78);
    assert.match(refused.stderr, /the API refused the token \(SMGR_CLI_TOKEN\): unknown, revoked or expired token/);
    const audit = await smgr(['audit', '--action', 'token.revoke'], asAdmin());
    assert.match(audit.stdout, /root +token\.revoke +token:pipeline +ok +200/);
  });
});

describe('smgr configuration and exit codes', () => {
  test('url and token come from the config file, environment or flags, the later winning', async () => {
    const tokenFile = join(tmp.path, 'token');
    await writeFile(tokenFile, `${fleet.tokens.viewer}\n`, { mode: 0o600 });
    const config = join(tmp.path, 'cli.ini');
    await writeFile(config, `; smgr CLI\n[cli]\nurl = ${fleet.api.url}\ntoken_file = ${tokenFile}\n`);
    const fromFile = await smgr(['--config', config, 'token', 'list']);
    assert.equal(fromFile.code, 1, 'the file gives the viewer token: not allowed');
    assert.equal((await smgr(['--config', config, 'hosts'])).code, 0);
    const envWins = await smgr(['token', 'list'], { SMGR_CLI_CONFIG: config, SMGR_CLI_TOKEN: fleet.tokens.admin });
    assert.equal(envWins.code, 0, envWins.stderr);
    const flagWins = await smgr(['--config', config, '--token', fleet.tokens.admin, 'token', 'list'], { SMGR_CLI_TOKEN: fleet.tokens.viewer });
    assert.equal(flagWins.code, 0, flagWins.stderr);
    const defaultPath = join(tmp.path, '.config', 'smgr', 'cli.ini');
    await (await import('node:fs/promises')).mkdir(join(tmp.path, '.config', 'smgr'), { recursive: true });
    await writeFile(defaultPath, await readFile(config, 'utf8'));
    assert.equal((await smgr(['hosts'])).code, 0, 'the default config file is read');
  });

  test('a bad config file or no token exits 78, an unreachable controller 69, bad usage 2, --help 0', async () => {
    const bad = join(tmp.path, 'bad.ini');
    await writeFile(bad, '[cli]\nurl = http://127.0.0.1:1\ncolour = red\n');
    const badRun = await smgr(['--config', bad, 'hosts']);
    assert.equal(badRun.code, 78);
    assert.match(badRun.stderr, /bad\.ini:3: cli\.colour: unknown key/);

    const noToken = await smgr(['hosts'], { SMGR_CLI_URL: fleet.api.url, HOME: join(tmp.path, 'nowhere') });
    assert.equal(noToken.code, 78);
    assert.match(noToken.stderr, /no API token configured/);

    const down = await smgr(['status'], { SMGR_CLI_URL: 'http://127.0.0.1:1', SMGR_CLI_TOKEN: fleet.tokens.admin });
    assert.equal(down.code, 69);
    assert.match(down.stderr, /cannot reach the controller API at http:\/\/127\.0\.0\.1:1/);

    const tlsToPlain = await smgr(['status'], { SMGR_CLI_URL: fleet.api.url.replace('http:', 'https:'), SMGR_CLI_TOKEN: fleet.tokens.admin });
    assert.equal(tlsToPlain.code, 69);

    const usage = await smgr(['rollout', 'start', service]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'version'/);
    assert.equal((await smgr(['frobnicate'])).code, 2);

    const help = await smgr(['--help']);
    assert.equal(help.code, 0);
    for (const word of [
      'status',
      'hosts',
      'alarms',
      'alarm',
      'menu',
      'restart',
      'start',
      'stop',
      'update',
      'rollout',
      'token',
      'audit',
      'events',
      'pki',
      'Exit codes',
      'SMGR_CLI_TOKEN',
    ]) {
      assert.ok(help.stdout.includes(word), `--help mentions ${word}`);
    }
    const sub = await smgr(['rollout', 'start', '--help']);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /--auto-rollback/);
  });

  test('pki init and issue write a CA and a host certificate', async () => {
    const dir = join(tmp.path, 'pki');
    const init = await smgr(['pki', 'init', dir]);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(JSON.parse(init.stdout).commonName, 'smgr CA');
    const issue = await smgr(['pki', 'issue', dir, 'web1', '--role', 'agent']);
    assert.equal(issue.code, 0, issue.stderr);
    assert.equal(JSON.parse(issue.stdout).host, 'web1');
    assert.match(await readFile(join(dir, 'web1.pem'), 'utf8'), /BEGIN CERTIFICATE/);
  });
});
