import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Cleanup, ManagedProcess, makeTempDir, useCleanup, waitFor, type AfterHookHost, type TempDir } from '@smgr/testing';
import { CONTROLLER_MAIN, uniqueServiceName } from '@smgr/testing/smgr';
import { waitForRollout } from '@smgr/testing/operator-api';
import { CLI_MAIN, cliAs, runCli, type CommandRun } from '@smgr/testing/cli';
import { useFleet } from '@smgr/testing/use-fleet';

/**
 * What a new operator meets with the smgr CLI against a real controller and
 * agents: output piped into a reader that stops early, operations that show
 * each host as it finishes, why a host or a rollout failed, placement and
 * processes without SQL, token files, exit codes, colour.
 */
let tmp: TempDir;
const service = uniqueServiceName('flow');

const { fleet } = useFleet(async (files) => {
  tmp = await makeTempDir('cli-flow');
  files.add(() => tmp.remove(), 'cli temp dir');
  return { hostIds: ['f1', 'f2'], service };
});

/** A clean environment: no HOME config, no inherited SMGR_CLI_*. */
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: tmp.path });
const asOperator = () => cliAs(fleet, 'operator');
const asAdmin = () => cliAs(fleet, 'admin');

const smgr = (args: string[], env: Record<string, string> = {}) => runCli(args, { HOME: tmp.path, ...env });

/** `smgr ARGS` in the background, its output kept line by line. */
function smgrInBackground(cleanup: Cleanup, name: string, args: string[], env: Record<string, string>): ManagedProcess {
  const p = ManagedProcess.start(process.execPath, [CLI_MAIN, ...args], {
    name,
    env: { ...env, HOME: tmp.path, SMGR_CLI_CONFIG: undefined, SMGR_CLI_TOKEN_FILE: undefined, NO_COLOR: undefined },
  });
  cleanup.add(() => p.stop(), name);
  return p;
}

/** `smgr ARGS` on a pseudo-terminal (util-linux `script`), as at a keyboard. */
function smgrOnTerminal(cleanup: Cleanup, name: string, args: string[], env: Record<string, string>): ManagedProcess {
  const p = ManagedProcess.start('script', ['-qfec', [process.execPath, CLI_MAIN, ...args].join(' '), '/dev/null'], {
    name,
    stdin: 'pipe',
    env: { TERM: 'xterm', COLUMNS: '160', HOME: tmp.path, NO_COLOR: undefined, SMGR_CLI_CONFIG: undefined, ...env },
  });
  cleanup.add(() => p.stop(), name);
  return p;
}

const hostFile = (hostId: string, name: string) => join(fleet.hosts.get(hostId)!.dir, name);

/**
 * Holds installs on `hostId` (fleetService's `hold` file) until `release()`
 * or the end of the test; `cleanup` also ends with the test.
 */
async function holdInstalls(t: AfterHookHost, hostId: string) {
  const cleanup = useCleanup(t);
  const hold = hostFile(hostId, 'hold');
  await writeFile(hold, '');
  cleanup.add(() => rm(hold, { force: true }), 'hold file');
  return { cleanup, release: () => rm(hold) };
}

describe('output into a reader that stops early', () => {
  /** Runs the CLI with its stdout a pipe whose reading end is already closed: every write gets EPIPE. */
  const intoClosedPipe = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...baseEnv(), ...env } });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => done({ code, stderr }));
    });

  test('--help, help, pki --help and a read exit 0 without a stack trace when stdout is closed', async () => {
    for (const args of [['--help'], ['help'], ['pki', '--help'], ['--json', 'hosts']]) {
      const r = await intoClosedPipe(args, asOperator());
      assert.equal(r.code, 0, `smgr ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, '', `smgr ${args.join(' ')} writes nothing to stderr`);
    }
  });

  test('smgr --help | head -1 prints the first line and smgr exits 0', async () => {
    const r = await new Promise<CommandRun>((done) =>
      execFile('bash', ['-c', `"${process.execPath}" "${CLI_MAIN}" --help | head -1; exit "\${PIPESTATUS[0]}"`], { env: baseEnv() }, (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Usage: smgr [options] [command]\n');
    assert.doesNotMatch(r.stderr, /EPIPE|at /);
  });
});

describe('operations show each host as it finishes', () => {
  test("without a terminal each host's line is printed when that host finishes, then the summary", async (t) => {
    const { cleanup, release } = await holdInstalls(t, 'f2');
    const run = smgrInBackground(cleanup, 'smgr-update', ['update', service, '2.0'], asOperator());
    await run.waitForLine((l) => /^f1 +succeeded +2\.0/.test(l), 30_000, 'f1 line while f2 is still held');
    assert.ok(run.running, 'smgr still waits for f2');
    assert.ok(!run.lines().some((l) => l.startsWith('f2 ')), `no f2 line yet:\n${run.tail()}`);
    assert.match(run.lines()[0]!, new RegExp(`^update ${service} 2\\.0: operation op-[0-9a-f]{12} on 2 host\\(s\\)$`));
    await release();
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.tail());
    assert.ok(
      run.lines().some((l) => /^f2 +succeeded +2\.0/.test(l)),
      run.tail(),
    );
    assert.equal(run.lines().at(-1), `update ${service} 2.0 on 2 host(s): 2 succeeded`);
  });

  test('on a terminal the hosts are redrawn in place, a spinner on the one still running, until every host finished', async (t) => {
    const { cleanup, release } = await holdInstalls(t, 'f2');
    const run = smgrOnTerminal(cleanup, 'smgr-update-tty', ['update', service, '2.1'], asOperator());
    await waitFor(
      () => {
        const text = stripVTControlCharacters(run.lines().join('\n'));
        return /^f1 +succeeded +2\.1/m.test(text) && /^f2 +[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] running/m.test(text);
      },
      { timeoutMs: 30_000, message: 'f1 done while f2 runs, on the terminal', context: () => run.tail() },
    );
    await release();
    const exit = await run.exited;
    assert.equal(exit.code, 0, run.tail());
    const raw = run.lines().join('\n');
    assert.ok((raw.match(/\x1b\[\d+F\x1b\[J/g) ?? []).length >= 1, `redrawn in place:\n${run.tail()}`);
    assert.match(raw, /\x1b\[32msucceeded/, 'succeeded in green');
    assert.match(stripVTControlCharacters(raw), new RegExp(`update ${service} 2\\.1 on 2 host\\(s\\): 2 succeeded`));
  });

  test('--no-wait prints the operation id; operation show follows it; a failed host shows its step, exit code and output, exit 1', async () => {
    assert.equal((await smgr(['stop', service, '--host', 'f2'], asOperator())).code, 0);
    try {
      const started = await smgr(['status', service, '--no-wait'], asOperator());
      assert.equal(started.code, 0, started.stderr);
      const id = started.stdout.trim();
      assert.match(id, /^op-[0-9a-f]{12}$/);
      assert.match(started.stderr, new RegExp(`smgr operation show ${id} --wait`));

      const shown = await smgr(['operation', 'show', id, '--wait'], asOperator());
      assert.equal(shown.code, 1, 'f2 is down: the operation failed');
      assert.match(shown.stdout, /^f1 +succeeded/m);
      assert.match(shown.stdout, /^f2 +failed +\S+ +/m);
      assert.match(shown.stdout, /^ +step assert_up exited 1:\n +\| not running: no \S+running$/m);
      assert.match(shown.stdout, new RegExp(`status ${service} on 2 host\\(s\\): 1 succeeded, 1 failed`));

      const json = JSON.parse((await smgr(['--json', 'operation', 'show', id], asOperator())).stdout);
      assert.equal(json.state, 'failed');
      assert.deepEqual(
        json.hosts.map((h: any) => [h.hostId, h.state]),
        [
          ['f1', 'succeeded'],
          ['f2', 'failed'],
        ],
      );
      assert.deepEqual(
        { ...json.hosts[1].failure, outputTail: json.hosts[1].failure.outputTail.trim() },
        {
          step: 'assert_up',
          exitCode: 1,
          outputTail: `not running: no ${hostFile('f2', 'running')}`,
        },
      );
    } finally {
      assert.equal((await smgr(['start', service, '--host', 'f2'], asOperator())).code, 0);
    }
  });

  test('--timeout bounds how long each host gets: a host that does not answer in time is reported, exit 1', async (t) => {
    await holdInstalls(t, 'f1');
    const r = await smgr(['update', service, '2.2', '--host', 'f1', '--timeout', '1'], asOperator());
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^f1 +unavailable +- +no result from f1 within 1 s/m);
    const bad = await smgr(['restart', service, '--timeout', 'soon'], asOperator());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout must be a number of seconds > 0/);
  });
});

describe('why a rollout failed', () => {
  test("rollout status shows the failed host's step, exit code and output; batches are counted from 1", async () => {
    await fleet.breakVersionOn('f1', '3.0');
    const r = await smgr(
      ['rollout', 'start', service, '3.0', '--host', 'f1', '--min-healthy', '1', '--healthy-deadline', '2', '--probe-interval', '0.1', '--wait'],
      asOperator(),
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const id = /rollout (\d+):/.exec(r.stdout)![1]!;
    const status = await smgr(['rollout', 'status', id], asOperator());
    assert.equal(status.code, 0);
    assert.match(status.stdout, /^f1 +1 +failed +\S+ +3\.0 +not healthy/m);
    assert.match(status.stdout, /^ +step assert_up exited 1:\n(?: +\|.*\n)* +\| version 3\.0 broke after \d+ checks$/m);
    const json = JSON.parse((await smgr(['--json', 'rollout', 'status', id], asOperator())).stdout);
    assert.equal(json.hosts[0].failure.job, 'probe');
    assert.equal(json.hosts[0].failure.exitCode, 1);
    const back = await smgr(['rollout', 'rollback', id, '--watch'], asOperator());
    assert.match(back.stdout, /ROLLED_BACK/, back.stdout);
  });

  test('a rollback that finds no previous version says why and what to set', async () => {
    // Without a version file the host's STATUS reports no version before the update.
    await rm(hostFile('f2', 'version'));
    await fleet.breakVersionOn('f2', '3.1');
    const created = await fleet.api.as(fleet.tokens.operator).post('/v1/rollouts', {
      service,
      version: '3.1',
      hosts: ['f2'],
      minHealthySeconds: 1,
      healthyDeadlineSeconds: 2,
      probeIntervalSeconds: 0.1,
      autoRollback: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitForRollout(fleet.api, created.body.id, (x) => x.state === 'rollback_failed', 'rollback failed');
    assert.match(
      done.hosts[0].message,
      new RegExp(
        `no previous version was reported before the update \\(STATUS of ${service} on f2 gave no version: is version_command set in its \\[process\\.${service}\\] section\\?\\)`,
      ),
    );
    await writeFile(hostFile('f2', 'version'), '2.1\n');
  });
});

describe('placement and processes without SQL', () => {
  test('process add creates PROCESE and STATUS_PROCESS rows; duplicates are refused; place makes an ambiguous name repairable', async () => {
    const added = await smgr(['process', 'add', service], asOperator());
    assert.equal(added.code, 0, added.stderr);
    const id = Number(/added process (\d+)/.exec(added.stdout)![1]);
    const [row] = await fleet.db.query<{ process_name: string; alarma: number; notes: string | null }>(
      'SELECT p.process_name, s.alarma, s.notes FROM PROCESE p JOIN STATUS_PROCESS s USING (process_id) WHERE p.process_id = ?',
      [id],
    );
    assert.deepEqual(row, { process_name: service, alarma: 0, notes: null });

    const dup = await smgr(['process', 'add', service], asOperator());
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, new RegExp(`a process named "${service}" exists already \\(id ${id}\\)`));
    const dupApi = await fleet.api.as(fleet.tokens.operator).post('/v1/processes', { name: service });
    assert.equal(dupApi.status, 409);
    const long = await smgr(['process', 'add', 'x'.repeat(101)], asOperator());
    assert.equal(long.code, 2);
    assert.match(long.stderr, /at most 100/);
    assert.equal((await fleet.api.as(fleet.tokens.operator).post('/v1/processes', { name: 'x'.repeat(101) })).status, 400);
    assert.equal((await fleet.api.as(fleet.tokens.operator).post('/v1/processes', { name: 'bad\nname' })).status, 400);

    // Both agents manage the name: an alarm cannot be placed until an operator says where.
    const placed = await smgr(['place', service, '--host', 'f1'], asOperator());
    assert.equal(placed.code, 0, placed.stderr);
    assert.match(placed.stdout, new RegExp(`^placed: ${id} \\(${service}\\) on f1$`, 'm'));
    assert.equal(placed.stderr, '', 'f1 manages the service: no warning');
    const list = await smgr(['placements'], asOperator());
    assert.match(list.stdout, new RegExp(`^${id} +${service} +f1 +\\(process name\\)$`, 'm'));
    const elsewhere = await smgr(['place', service, '--host', 'nowhere-host'], asOperator());
    assert.equal(elsewhere.code, 0);
    assert.match(elsewhere.stderr, /warning: no agent nowhere-host has connected yet/);
    assert.equal((await smgr(['unplace', service, '--host', 'nowhere-host'], asOperator())).code, 0);

    await rm(hostFile('f1', 'running'));
    assert.equal((await smgr(['alarm', 'raise', String(id)], asOperator())).code, 0);
    await waitFor(async () => (await fleet.db.query<{ alarma: number }>('SELECT alarma FROM STATUS_PROCESS WHERE process_id = ?', [id]))[0]!.alarma === 0, {
      timeoutMs: 30_000,
      message: 'the placed process is repaired on f1',
    });
    assert.ok((await stat(hostFile('f1', 'running'))).isFile(), 'f1 restarted it');

    const unplaced = await smgr(['unplace', service], asOperator());
    assert.equal(unplaced.code, 0, unplaced.stderr);
    assert.match(unplaced.stdout, new RegExp(`^unplaced: ${id} \\(${service}\\) on f1$`, 'm'));
    assert.equal((await smgr(['unplace', service], asOperator())).code, 1, 'nothing left to remove');
    const audit = await fleet.db.query<{ action: string; outcome: string }>(
      "SELECT action, outcome FROM smgr_audit WHERE action IN ('process.add', 'placement.add', 'placement.remove') ORDER BY id",
    );
    assert.deepEqual(audit.map((a) => `${a.action} ${a.outcome}`).slice(0, 3), ['process.add ok', 'process.add rejected', 'process.add rejected']);
    assert.ok(audit.some((a) => a.action === 'placement.add' && a.outcome === 'ok'));
    assert.ok(audit.some((a) => a.action === 'placement.remove' && a.outcome === 'ok'));
    const viewer = await smgr(['place', service, '--host', 'f1'], cliAs(fleet, 'viewer'));
    assert.equal(viewer.code, 1);
    assert.match(viewer.stderr, /placement\.add needs operator/);
  });
});

describe('tokens, exit codes and terminal niceties', () => {
  test('token create --output writes the secret 0600 and prints nothing secret, from the CLI and from smgr-controller', async () => {
    const file = join(tmp.path, 'tokens', 'ci');
    await writeFile(join(tmp.path, 'loose'), 'old\n', { mode: 0o644 });
    for (const [target, args] of [
      [file, ['token', 'create', 'ci-file', '--role', 'viewer', '--output', file]],
      [join(tmp.path, 'loose'), ['token', 'create', 'ci-loose', '--role', 'viewer', '--output', join(tmp.path, 'loose')]],
    ] as const) {
      const r = await smgr([...args], asAdmin());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', 'the secret is not on stdout');
      assert.match(r.stderr, /secret written to .* \(mode 0600\)/);
      assert.equal((await stat(target)).mode & 0o777, 0o600, `${target} is 0600`);
      const secret = (await readFile(target, 'utf8')).trim();
      assert.match(secret, /^smgr_[A-Za-z0-9_-]{43}$/);
      assert.equal((await smgr(['hosts'], { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN_FILE: target })).code, 0);
    }
    const local = join(tmp.path, 'local-admin');
    const ctl = await new Promise<CommandRun>((done) =>
      execFile(
        process.execPath,
        [CONTROLLER_MAIN, '--config', fleet.controllerConfig, 'token', 'create', 'ops-local', '--role', 'admin', '--output', local],
        (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      ),
    );
    assert.equal(ctl.code, 0, ctl.stderr);
    assert.equal(ctl.stdout, '');
    assert.equal((await stat(local)).mode & 0o777, 0o600);
    assert.equal((await smgr(['token', 'list'], { SMGR_CLI_URL: fleet.api.url, SMGR_CLI_TOKEN_FILE: local })).code, 0);
  });

  test('a request the API cannot do as asked (422) exits 2 like any invalid request', async () => {
    const r = await smgr(['restart', service, '--label', 'zone=nowhere'], asOperator());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^smgr: invalid request: /);
  });

  test('alarm clear --all counts the alarms it really cleared', async () => {
    const nothing = await smgr(['alarm', 'clear', '--all'], asOperator());
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.equal(nothing.stdout, 'cleared 0 alarm(s): no alarm was raised\n');
    await fleet.db.exec("INSERT INTO PROCESE (process_id, process_name) VALUES (901, 'never-raised-a'), (902, 'never-raised-b')");
    await fleet.db.exec('INSERT INTO STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (901, 1, 0, NULL), (902, 0, 0, NULL)');
    const one = await smgr(['alarm', 'clear', '--all'], asOperator());
    assert.match(one.stdout, /^cleared 1 alarm\(s\): 901 \(never-raised-a\) \(\d+ not in alarm\)$/m);
  });

  test('on a terminal ALARM is red and ok green; NO_COLOR and pipes get plain text; a typo gets "did you mean"', async (t) => {
    const cleanup = new Cleanup();
    t.after(() => cleanup.run());
    await fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 1 WHERE process_id = 902');
    const coloured = smgrOnTerminal(cleanup, 'smgr-alarms-tty', ['alarms', '--all'], asOperator());
    assert.equal((await coloured.exited).code, 0, coloured.tail());
    const raw = coloured.lines().join('\n');
    assert.match(raw, /\x1b\[31mALARM\x1b\[39m/);
    assert.match(raw, /\x1b\[32mok\x1b\[39m/);
    assert.match(stripVTControlCharacters(raw), /^902 +never-raised-b +ALARM/m, 'columns stay aligned');

    const plainTty = smgrOnTerminal(cleanup, 'smgr-alarms-nocolor', ['alarms', '--all'], { ...asOperator(), NO_COLOR: '1' });
    assert.equal((await plainTty.exited).code, 0);
    assert.doesNotMatch(plainTty.lines().join('\n'), /\x1b\[3\dm/);
    const piped = await smgr(['alarms', '--all'], asOperator());
    assert.doesNotMatch(piped.stdout, /\x1b/);
    assert.match(piped.stdout, /^902 +never-raised-b +ALARM/m);

    const typo = await smgr(['alarm', 'rasie', '902'], asOperator());
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Did you mean raise\?/);
    await fleet.db.exec('UPDATE STATUS_PROCESS SET alarma = 0 WHERE process_id = 902');
  });
});
