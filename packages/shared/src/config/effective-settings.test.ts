import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { useIniDir } from '@smgr/testing';
import { checkConfigFiles } from './config-file-checks.js';
import { formatEffectiveSettings, maskUrlCredentials } from './effective-settings.js';
import { loadConfigReport } from './load-config.js';
import { readIni } from './ini-reader.js';

const tmp = useIniDir('smgr-effective-');
const write = (name: string, text: string): string => tmp.write(text, name);

describe('effective settings', () => {
  it("show the file's own key names and units, only the sections a daemon uses, secrets masked", () => {
    const file = write(
      'both.ini',
      '[database]\npassword = s3cret\n[monitor]\ncheck_interval = 300\n[redis]\nurl = redis://app:pw@r1:6379/2\n[tls]\ninsecure = true\n' +
        "[process.default]\nhealth_check_command = pgrep %s\n[process.web]\nenv[] = TOKEN=abc\nstart_command = sh -c 'a; b'\n",
    );
    const report = loadConfigReport({ file, env: {} });
    const controller = formatEffectiveSettings(report.sections, 'controller');
    assert.match(controller, /^check_interval = 300$/m);
    assert.match(controller, /^password = \*\*\*$/m);
    assert.match(controller, /^url = redis:\/\/app:\*\*\*@r1:6379\/2$/m);
    assert.doesNotMatch(controller, /s3cret|pw@|checkIntervalMs|\[agent\]|\[process\./);
    const agent = formatEffectiveSettings(report.sections, 'agent');
    assert.deepEqual(
      agent.split('\n').filter((l) => l.startsWith('[')),
      ['[monitor]', '[logging]', '[agent]', '[tls]', '[process.web]'],
    );
    assert.match(agent, /^health_check_command = pgrep %s {2}# from \[process\.default\]$/m);
    assert.match(agent, /^start_command = sh -c 'a; b'$/m);
    assert.match(agent, /^env\[\] = TOKEN=\*\*\*$/m);
    assert.doesNotMatch(agent, /abc|\[database\]|\[redis\]|\[api\]|\[controller\]|^check_interval/m);
  });

  it('read back as INI without problems', () => {
    const file = write('round.ini', '[tls]\ninsecure = true\n[agent]\nlabels = a=1\n[process.x]\nstart_command = sh -c "x; y" # c\n');
    const text = formatEffectiveSettings(loadConfigReport({ file, env: {} }).sections);
    assert.deepEqual(readIni(text, { file: 'out', verbatimKeys: new Set(['start_command']) }).problems, []);
    const again = loadConfigReport({ file: write('again.ini', text.replace(/^password = \*\*\*$/m, 'password =')), env: {} });
    assert.deepEqual(again.config.processes[0]?.startCommand, [['sh', '-c', 'x; y']]);
  });

  it('mask URL credentials', () => {
    assert.equal(maskUrlCredentials('redis://:pw@h:1'), 'redis://:***@h:1');
    assert.equal(maskUrlCredentials('rediss://tok@h'), 'rediss://***@h');
    assert.equal(maskUrlCredentials('unix:///run/r.sock?db=1&password=x'), 'unix:///run/r.sock?db=1&password=***');
    assert.equal(maskUrlCredentials('redis://h:6379'), 'redis://h:6379');
  });

  it('name missing or unreadable TLS files and unwritable log paths by key, line and path', () => {
    const ca = write('ca.pem', 'x');
    mkdirSync(join(tmp.path, 'logs'));
    const plainFile = write('logs/plain', 'x');
    const file = write(
      'files.ini',
      `[tls]\nca = ${ca}\ncert = ${join(tmp.path, 'missing.pem')}\nkey = ${tmp.path}\n[logging]\nfile = ${plainFile}/sub/agent.log\n[agent]\nstate_dir = ${join(tmp.path, 'state', 'deep')}\n`,
    );
    const report = loadConfigReport({ file, env: {} });
    const details = checkConfigFiles(report.sections, 'agent');
    assert.deepEqual(
      details.map((d) => [d.line, d.key, d.rule.split(';')[0]]),
      [
        [3, 'tls.cert', 'no such file'],
        [4, 'tls.key', 'is not a regular file'],
        [6, 'logging.file', `cannot be created: ${plainFile} is not a directory`],
      ],
    );
    assert.match(details[0]?.rule ?? '', /smgr pki init/);
    assert.deepEqual(
      checkConfigFiles(report.sections, 'controller').map((d) => d.key),
      ['tls.cert', 'tls.key', 'logging.file'],
    );
  });
});
