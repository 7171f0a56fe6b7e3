import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, useCleanup, type TempDir } from '@smgr/testing';
import { AGENT_MAIN, CONTROLLER_MAIN, ROOT, startAgent, waitForLog } from '@smgr/testing/smgr';

function run(main: string, args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SMGR_CONFIG: '' } });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** The ```ini block of the README's "Configuration" section, exactly as written there. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const m = /\n```ini\n([\s\S]*?)\n```\n/.exec(section);
  assert.ok(m?.[1], 'README.md "Configuration" has an ```ini block');
  return `${m[1]}\n`;
}

/** `[section] key = value` of an INI text (first occurrence), for asserting what the README says. */
function iniValue(text: string, section: string, key: string): string | undefined {
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) current = header[1] ?? '';
    const kv = /^\s*([\w.]+)\s*=\s*(\S*)/.exec(line);
    if (kv && current === section && kv[1] === key) return kv[2];
  }
  return undefined;
}

const tempDir = (t: Parameters<typeof useCleanup>[0], label: string): Promise<TempDir> => makeTempDir(label, useCleanup(t));

/** The problems of an "invalid configuration" report: one line each, `BINARY: invalid configuration: PROBLEM`. */
const problems = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^smgr-(?:agent|controller): invalid configuration: /, ''));

describe('--check-config', () => {
  test("passes the README's configuration example verbatim for the agent and the controller, with its files provided", async (t) => {
    const dir = await tempDir(t, 'readme-config');
    const example = readmeExample();
    const file = join(dir.path, 'smgr.ini');
    writeFileSync(file, example);
    // The files it names, made here and pointed at with --set (the documented override), so the text stays verbatim.
    const sets: string[] = [];
    for (const key of ['ca', 'cert', 'key']) {
      const path = join(dir.path, `${key}.pem`);
      writeFileSync(path, '-----BEGIN PLACEHOLDER-----\n');
      sets.push('--set', `tls.${key}=${path}`);
    }
    sets.push('--set', `logging.file=${join(dir.path, 'log', 'smgr.log')}`, '--set', `agent.state_dir=${join(dir.path, 'state')}`);

    const controller = run(CONTROLLER_MAIN, ['--config', file, '--check-config', ...sets]);
    assert.equal(controller.code, 0, controller.stderr);
    assert.match(controller.stdout, /^check_interval = 0\.2$/m);
    assert.match(controller.stdout, /^password = \*\*\*$/m);
    assert.doesNotMatch(controller.stdout, /= secret|checkIntervalMs|^\[agent\]|^\[process\./m);

    const agent = run(AGENT_MAIN, ['--config', file, '--check-config', ...sets]);
    assert.equal(agent.code, 0, agent.stderr);
    assert.match(agent.stdout, /^\[process\.apache2\]$/m);
    assert.match(agent.stdout, /^health_check_timeout = 5 {2}# from \[process\.default\]$/m);
    assert.doesNotMatch(agent.stdout, /^\[(database|redis|api|controller)\]$/m);
    assert.equal(agent.stderr, '', 'the example has no pgrep without -x');

    // Without the files, the same text names each missing one and exits 78 (nothing is created).
    const bare = run(AGENT_MAIN, [
      '--config',
      file,
      '--check-config',
      '--set',
      `logging.file=${join(dir.path, 'x.log')}`,
      '--set',
      `agent.state_dir=${dir.path}`,
    ]);
    assert.equal(bare.code, 78);
    assert.match(bare.stderr, new RegExp(`${file}:\\d+: tls\\.ca = "/etc/smgr/ca\\.pem": no such file; create the CA`));
  });

  test('the README example logs where the shipped systemd unit and the Ansible defaults let the controller write', () => {
    const logFile = iniValue(readmeExample(), 'logging', 'file') ?? '';
    const unit = readFileSync(join(ROOT, 'deploy/systemd/smgr-controller.service'), 'utf8');
    const logsDir = /^LogsDirectory=(\S+)$/m.exec(unit)?.[1];
    assert.ok(logsDir, 'the controller unit has LogsDirectory=');
    assert.ok(logFile.startsWith(`/var/log/${logsDir}/`), `${logFile} is under /var/log/${logsDir}/`);
    const defaults = readFileSync(join(ROOT, 'deploy/ansible/roles/smgr_controller/defaults/main.yml'), 'utf8');
    assert.match(defaults, new RegExp(`^smgr_controller_log_file: /var/log/${logsDir}/`, 'm'));
  });

  test('a missing TLS file exits 78 naming file:line, key, path and fix, at --check-config and at start-up', async (t) => {
    const dir = await tempDir(t, 'tls-missing');
    const file = join(dir.path, 'agent.ini');
    const missing = join(dir.path, 'nope', 'ca.pem');
    writeFileSync(join(dir.path, 'c.pem'), 'x');
    writeFileSync(file, `[agent]\nstate_dir = ${dir.path}\n[tls]   ; mutual TLS\nca = ${missing}\ncert = ${dir.path}/c.pem\nkey = ${dir.path}/c.pem\n`);
    for (const args of [['--check-config'], []]) {
      const r = run(AGENT_MAIN, ['--config', file, ...args]);
      assert.equal(r.code, 78, r.stderr);
      assert.deepEqual(problems(r.stderr), [
        `${file}:4: tls.ca = "${missing}": no such file; create the CA and certificates with \`smgr pki init\` and \`smgr pki issue\` (README, "Security"), or correct the path`,
      ]);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  test('an unwritable log location exits 78 naming logging.file', async (t) => {
    const dir = await tempDir(t, 'log-blocked');
    writeFileSync(join(dir.path, 'blocker'), 'a file where a directory should be');
    const file = join(dir.path, 'c.ini');
    writeFileSync(file, `[database]\n[tls]\ninsecure = true\n[logging]\nfile = ${dir.path}/blocker/controller.log\n`);
    const r = run(CONTROLLER_MAIN, ['--config', file, '--check-config']);
    assert.equal(r.code, 78);
    assert.deepEqual(
      problems(r.stderr).map((l) => l.split('; ')[0]),
      [`${file}:5: logging.file = "${dir.path}/blocker/controller.log": cannot be created: ${dir.path}/blocker is not a directory`],
    );
  });

  /** Configs refused with exactly these problems; `hides`: what the report must not show. */
  const refused = [
    {
      name: 'a bad section header is one error on its own line, not a cascade over the keys under it',
      label: 'bad-header',
      main: CONTROLLER_MAIN,
      text: '[database] controller: required\nhost = db\npassword = hunter2\n[tls]\ninsecure = true\n',
      problems: (file: string) => [
        `${file}:1: [database] controller: required: is not a section header: only a ; or # comment may follow the closing ]`,
        `${file}: database: required section [database] is missing`,
      ],
      hides: /hunter2|outside any section/,
    },
    {
      name: 'an unknown key and an unknown section get "did you mean", with file:line and the value',
      label: 'typo',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[monitor]\nmax_restart_failure = 3\n[proces.web]\nstart_command = /bin/true\n',
      problems: (file: string) => [
        `${file}:5: proces.web: unknown section [proces.web]; did you mean [process.web]?`,
        `${file}:4: monitor.max_restart_failure = "3": unknown key; did you mean max_restart_failures?`,
      ],
    },
  ];
  for (const c of refused) {
    test(c.name, async (t) => {
      const dir = await tempDir(t, c.label);
      const file = join(dir.path, 'c.ini');
      writeFileSync(file, c.text);
      const r = run(c.main, ['--config', file, '--check-config']);
      assert.equal(r.code, 78);
      assert.deepEqual(problems(r.stderr), c.problems(file));
      if (c.hides) assert.doesNotMatch(r.stderr, c.hides);
    });
  }

  test('a pgrep health check without -x is accepted with a warning naming the section and the fix', async (t) => {
    const dir = await tempDir(t, 'pgrep');
    const file = join(dir.path, 'a.ini');
    writeFileSync(
      file,
      `[agent]\nstate_dir = ${dir.path}\ncontroller = 127.0.0.1:9\n[tls]\ninsecure = true\n[process.default]\nhealth_check_command = pgrep %s\n[process.bst2]\n[process.bst20]\n`,
    );
    const check = run(AGENT_MAIN, ['--config', file, '--check-config']);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(
      check.stderr,
      `smgr-agent: warning: ${file}:7: process.default.health_check_command = "pgrep %s": pgrep without -x matches every process whose name merely contains the pattern (a dead bst2 passes its check while bst20 runs) (used by [process.bst2], [process.bst20]); write health_check_command = pgrep -x -- %s\n`,
    );
    // The controller does not run health checks: no warning there.
    const withDatabase = join(dir.path, 'both.ini');
    writeFileSync(withDatabase, `${readFileSync(file, 'utf8')}[database]\n`);
    const controller = run(CONTROLLER_MAIN, ['--config', withDatabase, '--check-config']);
    assert.equal(controller.code, 0, controller.stderr);
    assert.equal(controller.stderr, '');

    const agent = startAgent(file, 'agent-pgrep');
    useCleanup(t).add(() => agent.stop());
    const found = (await waitForLog(
      agent,
      'pgrep without -x matches every process whose name merely contains the pattern (a dead bst2 passes its check while bst20 runs)',
    )) as { json: Record<string, unknown> };
    const line = found.json;
    assert.equal(line.level, 40);
    assert.equal(line.key, 'process.default.health_check_command');
    assert.equal(line.fix, 'pgrep -x -- %s');
    assert.deepEqual(line.usedBy, ['bst2', 'bst20']);
  });
});
