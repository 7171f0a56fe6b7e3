import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { makeTempDir, useCleanup } from '@smgr/testing';
import { AGENT_MAIN, CONTROLLER_MAIN } from '@smgr/testing/smgr';

const GOOD_DATABASE = '[database]\nhost = 127.0.0.1\nuser = root\npassword =\ndatabase = v_process_monitor\n';

function run(main: string, args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SMGR_CONFIG: '' } });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('bad configuration exits 78 naming file, key and rule', () => {
  const cases: { title: string; main: string; text: string; expect: RegExp[] }[] = [
    {
      title: 'an unknown key',
      main: CONTROLLER_MAIN,
      text: `${GOOD_DATABASE}[monitor]\ncheck_intervall = 5\n`,
      expect: [/monitor\.check_intervall/, /unknown/i],
    },
    {
      title: 'a non-numeric check interval',
      main: CONTROLLER_MAIN,
      text: `${GOOD_DATABASE}[monitor]\ncheck_interval = soon\n`,
      expect: [/monitor\.check_interval/, /soon/, /number/i],
    },
    {
      title: 'a controller config without [database]',
      main: CONTROLLER_MAIN,
      text: '[monitor]\ncheck_interval = 1\n',
      expect: [/\[database\]/, /missing|required/i],
    },
    {
      title: 'a process with an unknown strategy in the agent config',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[process.web]\nrestart_strategy = reboot\n',
      expect: [/process\.web\.restart_strategy/, /reboot/, /service, process, auto/],
    },
    {
      title: 'a command with a shell operator',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[process.web]\nstart_command = /usr/bin/web; rm -rf /\n',
      expect: [/process\.web\.start_command/, /shell/],
    },
    {
      title: 'a resource rule with a bad unit (max_memory = 200 MBs)',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[process.web]\nwatch = true\nmax_memory = 200 MBs\n',
      expect: [/config\.ini:5: process\.web\.max_memory = "200 MBs"/, /size with a unit: 512K, 200M/],
    },
    {
      title: 'a resource rule without a unit (max_memory = 200)',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[process.web]\nmax_memory = 200\n',
      expect: [/config\.ini:4: process\.web\.max_memory/, /size with a unit/],
    },
    {
      title: 'a CPU rule that is not a percentage, and an unknown resource action',
      main: AGENT_MAIN,
      text: '[tls]\ninsecure = true\n[process.default]\nmax_cpu = 0.9\nresource_action = kill\n',
      expect: [
        /config\.ini:4: process\.default\.max_cpu = "0\.9": must be a percentage of one CPU such as 90%/,
        /config\.ini:5: process\.default\.resource_action = "kill": must be one of restart, alarm, event/,
      ],
    },
  ];
  for (const c of cases) {
    test(`${c.title} is refused with exit 78`, async (t) => {
      const cleanup = useCleanup(t);
      const dir = await makeTempDir('cfg');
      cleanup.add(() => dir.remove());
      const file = join(dir.path, 'config.ini');
      writeFileSync(file, c.text);
      const r = run(c.main, ['--config', file]);
      assert.equal(r.code, 78, `exit code (stderr: ${r.stderr})`);
      assert.ok(r.stderr.includes(file), `stderr names the file: ${r.stderr}`);
      for (const re of c.expect) assert.match(r.stderr, re);
    });
  }

  test('a missing config file is refused with exit 78 naming it', () => {
    const r = run(CONTROLLER_MAIN, ['--config', '/nonexistent/smgr.ini']);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /\/nonexistent\/smgr\.ini/);
  });

  test('no config at all is a usage-level config error with a hint', () => {
    const r = run(AGENT_MAIN, []);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /--config FILE/);
  });

  test('--help answers and exits 0 for both daemons', () => {
    for (const main of [CONTROLLER_MAIN, AGENT_MAIN]) {
      const r = run(main, ['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /--config <file>/);
      assert.match(r.stdout, /Exit codes/);
    }
  });

  test('an unknown flag is a usage error (exit 2)', () => {
    assert.equal(run(AGENT_MAIN, ['--frobnicate']).code, 2);
  });
});
